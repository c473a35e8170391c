package views

import (
	"encoding/json"

	"github.com/a-h/templ"
)

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

// filterSwap makes a GET filter form apply as it changes: htmx fetches the page of the new URL,
// swaps in the part with the given id and puts the URL in the address bar (so the view can be
// shared and reloaded). The form itself stays, with the focus in it. Without JavaScript the
// form's Apply button does the same with a page load.
func filterSwap(action, area string) templ.Attributes {
	return templ.Attributes{
		"hx-get": action, "hx-target": "#" + area, "hx-select": "#" + area, "hx-swap": "outerHTML", "hx-push-url": "true",
		"hx-trigger": "change, input changed delay:400ms from:find input[type=search], submit",
	}
}
