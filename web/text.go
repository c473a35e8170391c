package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"phaseboard/models"
)

// RefuseBadText answers 400 to a request whose path, query or form values hold invalid UTF-8 or
// a NUL byte (models.CheckText), before any handler runs: PostgreSQL refuses such text, so it
// would otherwise surface as a 500 from whichever query it reached first, and SQLite would store
// it. The OData API (/v1/) is left to its own query decoder, which refuses the same with an OData
// error body naming the option; the OAuth2 token and revocation endpoints answer it with RFC
// 6749's error body (invalid_request), which is all their clients parse.
func RefuseBadText(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/v1/") {
		return c.Next()
	}
	if err := models.CheckText("path", c.Path()); err != nil {
		return badText(err)
	}
	var bad error
	visit := func(what string) func(k, v []byte) {
		return func(k, v []byte) {
			if bad == nil {
				bad = models.CheckText(what+" name", string(k))
			}
			if bad == nil {
				bad = models.CheckText(string(k), string(v))
			}
		}
	}
	c.Request().URI().QueryArgs().VisitAll(visit("query parameter"))
	req := c.Request()
	switch {
	case bad != nil:
	case string(req.Header.ContentType()) == fiber.MIMEApplicationForm || strings.HasPrefix(string(req.Header.ContentType()), fiber.MIMEApplicationForm+";"):
		req.PostArgs().VisitAll(visit("form field"))
	case strings.HasPrefix(string(req.Header.ContentType()), fiber.MIMEMultipartForm):
		if form, err := c.MultipartForm(); err == nil {
			for k, vs := range form.Value {
				for _, v := range vs {
					visit("form field")([]byte(k), []byte(v))
				}
			}
		} else if err != fasthttp.ErrNoMultipartForm {
			return fiber.NewError(fiber.StatusBadRequest, "The form is malformed.")
		}
	}
	if bad != nil {
		if oauthClientEndpoint(c.Path()) {
			return OAuthError(c, bad)
		}
		return badText(bad)
	}
	return c.Next()
}

// oauthClientEndpoint: the OAuth2 endpoints a client (not a browser) posts to.
func oauthClientEndpoint(path string) bool {
	return path == "/oauth2/token" || path == "/oauth2/revoke"
}

func badText(err error) error {
	return fiber.NewError(fiber.StatusBadRequest, "The request was refused: "+models.ErrorMessage(err))
}
