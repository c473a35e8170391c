package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// The admin's webhooks (models/webhooks.go): the list, adding one (its secret shown in the
// answer, once), deleting, retrying a failing one, and a webhook's delivery log.

func (h *Handler) webhooksView(c *fiber.Ctx) (views.AdminWebhooksView, error) {
	hooks, err := h.Store.Webhooks(c.UserContext(), web.ActorOf(c))
	return views.AdminWebhooksView{AdminView: adminView(c, "Webhooks", "webhooks"), Hooks: hooks}, err
}

// AdminWebhooks lists the webhooks.
func (h *Handler) AdminWebhooks(c *fiber.Ctx) error {
	v, err := h.webhooksView(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.AdminWebhooksPage(v))
}

// AdminAddWebhook registers a webhook and shows its secret in the answer (no redirect: the
// secret must not travel in a URL).
func (h *Handler) AdminAddWebhook(c *fiber.Ctx) error {
	in := models.WebhookInput{EntityType: c.FormValue("entity_type"), WebhookURL: c.FormValue("webhook_url")}
	var bad bool
	for _, line := range strings.Split(c.FormValue("headers"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		bad = bad || !ok
		in.Headers = append(in.Headers, models.WebhookHeader{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	var (
		hook   *models.Webhook
		secret string
		err    error
	)
	if bad {
		err = models.FieldError("headers", "Write each header as Name: value, one a line.")
	} else {
		hook, secret, err = h.Store.CreateWebhook(c.UserContext(), in, h.WebhookPolicy, web.ActorOf(c))
	}
	v, verr := h.webhooksView(c)
	if verr != nil {
		return verr
	}
	if err != nil {
		return refused(err, func(msg string, status int) error {
			v.Error = msg
			v.Form = map[string]string{"entity_type": in.EntityType, "webhook_url": in.WebhookURL, "headers": c.FormValue("headers")}
			return web.Render(c, status, views.AdminWebhooksPage(v))
		})
	}
	v.NewHook, v.Secret = hook, secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.Render(c, fiber.StatusCreated, views.AdminWebhooksPage(v))
}

// AdminWebhook is a webhook's delivery log (the newest 100).
func (h *Handler) AdminWebhook(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	hook, err := h.Store.Webhook(c.UserContext(), id, web.ActorOf(c))
	if err != nil {
		return err
	}
	deliveries, err := h.Store.Deliveries(c.UserContext(), id, 100, web.ActorOf(c))
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.AdminWebhookPage(views.AdminWebhookView{AdminView: adminView(c, "Webhook", "webhooks"), Hook: *hook, Deliveries: deliveries}))
}

// AdminDeleteWebhook removes a webhook.
func (h *Handler) AdminDeleteWebhook(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteWebhook(c.UserContext(), id, web.ActorOf(c)); err != nil {
		return err
	}
	return c.Redirect("/admin/webhooks", fiber.StatusSeeOther)
}

// AdminRetryWebhook takes a failing webhook up again.
func (h *Handler) AdminRetryWebhook(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.RetryWebhook(c.UserContext(), id, web.ActorOf(c)); err != nil {
		return err
	}
	return c.Redirect("/admin/webhooks/"+id.String(), fiber.StatusSeeOther)
}
