package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// odataPrefix is where the OData API lives.
const odataPrefix = "/v1/odata"

// registerOData mounts the OData service (odata_model.go) at /v1/odata for every method. The
// first service is built here: a model error stops the start (panic), never a request.
//
// Authentication is web.APIAuth, mounted by Register with app.Use("/v1/odata", ...) before this
// group; middleware that only the API needs goes on the group below.
func (h *Handler) registerOData(app *fiber.App) {
	services := &odataServices{h: h, version: -1}
	defs, err := h.Store.CustomFields(context.Background())
	if err != nil { // the database is not there yet: start without custom fields, retry per request
		defs = &models.CustomFieldSet{Version: -1}
	}
	if services.svc, err = h.newODataService(defs); err != nil {
		panic(fmt.Sprintf("odata: %v", err))
	}
	services.version = defs.Version
	// web.HTTPHandler streams the answers (a page of 1,000 entities goes out as it is read) and
	// hands the service Fiber's user context, where web.APIAuth put the caller's identity.
	handler := web.HTTPHandler(services)
	api := app.Group(odataPrefix)
	api.All("", handler)
	api.All("/*", handler)
}

// odataServices serves each request with the service of the current custom field definitions
// (models.Store.CustomFields: checked at most every Store.CustomFieldsTTL): the model has one
// member per custom field, so a new version of the definitions builds a new service, once, for
// the first request that sees it. There is no second handler for custom fields: they are
// members of the one model like any other.
type odataServices struct {
	h       *Handler
	mu      sync.Mutex
	version int64
	svc     *odata.Service
}

func (o *odataServices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.current(r.Context()).ServeHTTP(w, r)
}

// current is the service for the definitions now, or the last one built when they cannot be
// read (the request then meets the same database trouble; a write of a field that changed
// meanwhile is checked against the definitions in its own transaction anyway).
func (o *odataServices) current(ctx context.Context) *odata.Service {
	defs, err := o.h.Store.CustomFields(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil || defs.Version == o.version {
		return o.svc
	}
	svc, err := o.h.newODataService(defs)
	if err != nil {
		logger := o.h.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Error("odata: custom fields make an invalid model; serving the previous one", "version", defs.Version, "err", err)
		return o.svc
	}
	o.svc, o.version = svc, defs.Version
	return svc
}

// newODataService builds the service over the store's database, with the custom fields of defs.
func (h *Handler) newODataService(defs *models.CustomFieldSet) (*odata.Service, error) {
	dialect := odata.SQLite
	if h.Store.Dialect == migrations.Postgres {
		dialect = odata.PostgreSQL
	}
	scope := func(ctx context.Context) models.Scope { return h.Store.ReadScope(web.CurrentActor(ctx)) }
	// The service reads through the store, so that the reads of a $batch change set (run in one
	// Store.InTx transaction) see its writes, and a read goes where the Store's own would (a
	// replica for a client that has not written recently; models.Store.QueryContext).
	return odata.NewService(odataModel(h.odataWriters(), scope, h.Store.Dialect, defs), h.Store, dialect, odata.Options{
		Prefix:             odataPrefix,
		CurrentEmployee:    currentEmployee,
		EmployeeSet:        odataSetEmployeeRelationship, // Tribe's name: $expand=Person works on it
		Logger:             h.Logger,
		MapError:           web.ODataError,
		Atomic:             h.Store.InTx,
		BeforeBatchRequest: h.batchRequestAllowed,
	})
}

// batchRequestAllowed checks a request inside a $batch as web.APIAuth checks a single one: a
// read needs the read scope, a change the write scope (web.APIAuth lets a read-only client post
// a $batch, so that it can batch reads), and it counts against the caller's rate limit (a batch
// of n requests costs n + 1: the batch is a request too).
func (h *Handler) batchRequestAllowed(r *http.Request) error {
	id, ok := web.IdentityFrom(r.Context())
	if !ok {
		return &odata.Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "Authentication required."}
	}
	need := models.ScopeWrite
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		need = models.ScopeRead
	}
	if !models.HasScope(id.Scopes, need) && !models.HasScope(id.Scopes, models.ScopeWrite) {
		return &odata.Error{Status: http.StatusForbidden, Code: "Forbidden", Message: "This access token lacks the '" + need + "' scope."}
	}
	err := web.CountAPIRequest(r.Context(), web.APIAuthConfig{Store: h.Store, RateLimit: h.APIRateLimit})
	var limited *web.RateLimited
	if errors.As(err, &limited) {
		return &odata.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests", Message: "Rate limit exceeded by this request of the batch; retry later."}
	}
	return err
}

// currentEmployee is GetCurrentEmployee(): the employee the caller's credentials act as. Every
// API client acts as one: its own (models.CreateAPIClient), or the consenting user's, who gets
// one when the first token acting for them is issued (models.Store.userEmployee). A browser
// session of a user without one gets the 404.
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
