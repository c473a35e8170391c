package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// odataPrefix is where the OData API lives.
const odataPrefix = "/v1/odata"

// registerOData mounts the OData service (odata_model.go) at /v1/odata for every method. The
// service is built once, here: a model error stops the start (panic), never a request.
//
// Authentication is web.APIAuth, mounted by Register with app.Use("/v1/odata", ...) before this
// group; middleware that only the API needs goes on the group below.
func (h *Handler) registerOData(app *fiber.App) {
	svc, err := h.newODataService()
	if err != nil {
		panic(fmt.Sprintf("odata: %v", err))
	}
	serve := adaptor.HTTPHandler(withFiberContext(svc))
	handler := func(c *fiber.Ctx) error {
		// Hand the request's context (with the caller's identity, set by web.APIAuth through
		// c.SetUserContext) to the net/http side; see withFiberContext.
		c.Context().SetUserValue(fiberContextKey{}, c.UserContext())
		return serve(c)
	}
	api := app.Group(odataPrefix)
	api.All("", handler)
	api.All("/*", handler)
}

// newODataService builds the service over the store's database.
func (h *Handler) newODataService() (*odata.Service, error) {
	dialect := odata.SQLite
	if h.Store.Dialect == migrations.Postgres {
		dialect = odata.PostgreSQL
	}
	scope := func(ctx context.Context) models.Scope { return h.Store.ReadScope(web.CurrentActor(ctx)) }
	return odata.NewService(odataModel(h.odataWriters(), scope), h.Store.SQL(), dialect, odata.Options{
		Prefix:          odataPrefix,
		CurrentEmployee: currentEmployee,
		EmployeeSet:     odataSetEmployee,
		Logger:          h.Logger,
		MapError:        web.ODataError,
	})
}

// fiberContextKey keys Fiber's user context among the fasthttp request's user values. The type
// is unexported, so only this package can set the value: it is server state, never something a
// client sends (unlike a header).
type fiberContextKey struct{}

// withFiberContext gives the net/http request the context Fiber's middleware built.
//
// adaptor.HTTPHandler serves h with the *fasthttp.RequestCtx as the request's context, not Fiber's
// UserContext, where web.APIAuth put the caller's identity; RequestCtx.Value(k) does return the
// fasthttp user value k, though. So the Fiber handler stores UserContext() as a user value under
// fiberContextKey and this wrapper makes it the request's context: web.CurrentEmployeeID,
// web.CurrentActor (the writers' permission checks) and cancellation then work as in every other
// handler. A request that comes without it (not through registerOData) keeps its own context and
// so carries no identity: the hooks answer 401.
func withFiberContext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx, ok := r.Context().Value(fiberContextKey{}).(context.Context); ok {
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// currentEmployee is GetCurrentEmployee(): the employee the caller's credentials act as.
func currentEmployee(r *http.Request) (string, error) {
	if _, ok := web.IdentityFrom(r.Context()); !ok {
		return "", &odata.Error{Status: http.StatusUnauthorized, Code: "Unauthorized",
			Message: "Authentication required: send a valid access token as 'Authorization: Bearer <token>'."}
	}
	id, ok := web.CurrentEmployeeID(r.Context())
	if !ok {
		return "", &odata.Error{Status: http.StatusNotFound, Code: "NotFound",
			Message: "These credentials do not act as an employee."}
	}
	return id.String(), nil
}
