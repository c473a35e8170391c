package views

import "encoding/json"

func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

func ariaInvalid(f ActivityForm, name string) string {
	if f.Errors[name] != "" {
		return "true"
	}
	return "false"
}
