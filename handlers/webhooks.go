package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web"
	"phaseboard/web/odata"
)

// Tribe's webhook management API (models/webhooks.go delivers): GET /v1/webhooks lists them,
// POST /v1/webhooks registers one and answers its secret (the only time it is shown),
// DELETE /v1/webhooks/{id} removes one. Behind API authentication like /v1/odata; managers and
// administrators only. The read-only OData set Webhook is in odata_model.go.

// webhookJSON is a webhook as the API shows it: header values are not shown again (they are
// often a receiver's credentials), nor is the secret except in the answer to its creation.
type webhookJSON struct {
	ID           uuid.UUID              `json:"id"`
	EntityType   string                 `json:"entityType"`
	WebhookURL   string                 `json:"webhookUrl"`
	Headers      []models.WebhookHeader `json:"headers"`
	IsFailing    bool                   `json:"isFailing"`
	CreationDate time.Time              `json:"creationDate"`
	Secret       string                 `json:"secret,omitempty"`
}

func webhookOut(w *models.Webhook, secret string) webhookJSON {
	out := webhookJSON{ID: w.ID, EntityType: w.EntityType, WebhookURL: w.WebhookURL, IsFailing: w.Failing, CreationDate: w.CreationDate, Secret: secret,
		Headers: []models.WebhookHeader{}}
	for _, h := range w.HeaderList() {
		out.Headers = append(out.Headers, models.WebhookHeader{Name: h.Name, Value: "***"})
	}
	return out
}

func (h *Handler) registerWebhooks(app *fiber.App) {
	app.Use("/v1/webhooks", web.APIAuth(web.APIAuthConfig{Store: h.Store, RateLimit: h.APIRateLimit}))
	app.Get("/v1/webhooks", h.ListWebhooks)
	app.Post("/v1/webhooks", h.CreateWebhook)
	app.Delete("/v1/webhooks/:id", h.DeleteWebhook)
}

// ListWebhooks is GET /v1/webhooks.
func (h *Handler) ListWebhooks(c *fiber.Ctx) error {
	hooks, err := h.Store.Webhooks(c.UserContext(), web.ActorOf(c))
	if err != nil {
		return apiError(c, err)
	}
	out := make([]webhookJSON, len(hooks))
	for i := range hooks {
		out[i] = webhookOut(&hooks[i], "")
	}
	return c.JSON(out)
}

// CreateWebhook is POST /v1/webhooks with {"entityType", "webhookUrl", "headers"}: 201 with the
// webhook and its secret.
func (h *Handler) CreateWebhook(c *fiber.Ctx) error {
	var in models.WebhookInput
	dec := json.NewDecoder(strings.NewReader(string(c.Body())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return apiError(c, fiber.NewError(fiber.StatusBadRequest, "The body is not a webhook: {\"entityType\", \"webhookUrl\", \"headers\": [{\"name\", \"value\"}]}."))
	}
	w, secret, err := h.Store.CreateWebhook(c.UserContext(), in, h.WebhookPolicy, web.ActorOf(c))
	if err != nil {
		return apiError(c, err)
	}
	c.Set(fiber.HeaderLocation, "/v1/webhooks/"+w.ID.String())
	return c.Status(fiber.StatusCreated).JSON(webhookOut(w, secret))
}

// DeleteWebhook is DELETE /v1/webhooks/{id}: 204.
func (h *Handler) DeleteWebhook(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return apiError(c, fiber.NewError(fiber.StatusNotFound, "That webhook does not exist."))
	}
	if err := h.Store.DeleteWebhook(c.UserContext(), id, web.ActorOf(c)); err != nil {
		return apiError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiError answers err as the OData error JSON the rest of /v1 speaks (web/errors.go maps it).
func apiError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		err = &odata.Error{Status: fe.Code, Code: strings.ReplaceAll(http.StatusText(fe.Code), " ", ""), Message: fe.Message}
	}
	var oe *odata.Error
	if !errors.As(web.ODataError(err), &oe) {
		return err // a logged 500
	}
	body := map[string]any{"code": oe.Code, "message": oe.Message}
	if oe.Target != "" {
		body["target"] = oe.Target
	}
	return c.Status(oe.Status).JSON(map[string]any{"error": body})
}
