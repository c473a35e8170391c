package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

func (h *Handler) clientsView(c *fiber.Ctx) (views.AdminClientsView, error) {
	clients, err := h.Store.APIClients(c.UserContext())
	if err != nil {
		return views.AdminClientsView{}, err
	}
	emps, err := h.Store.Employees(c.UserContext())
	if err != nil {
		return views.AdminClientsView{}, err
	}
	return views.AdminClientsView{AdminView: adminView(c, "API clients", "clients"), Clients: clients, Employees: emps}, nil
}

// AdminClients lists the API clients.
func (h *Handler) AdminClients(c *fiber.Ctx) error {
	v, err := h.clientsView(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.AdminClientsPage(v))
}

// AdminAddClient registers a client and shows its secret in the answer, this once (no redirect:
// the secret must not travel in a URL or be stored for a later page).
func (h *Handler) AdminAddClient(c *fiber.Ctx) error {
	emp, err := optionalID(c.FormValue("employee_id"), "employee")
	if err != nil {
		return err
	}
	var scopes []string
	for _, v := range c.Context().PostArgs().PeekMulti("scope") {
		scopes = append(scopes, string(v))
	}
	client, secret, err := h.Store.CreateAPIClient(c.UserContext(), models.NewAPIClient{Name: c.FormValue("name"), Scopes: scopes,
		Role: c.FormValue("role"), EmployeeID: emp, RedirectURIs: []string{c.FormValue("redirect_uris")}}, web.ActorOf(c))
	v, verr := h.clientsView(c)
	if verr != nil {
		return verr
	}
	if err != nil {
		return refused(err, func(msg string, status int) error {
			v.Error = msg
			return web.Render(c, status, views.AdminClientsPage(v))
		})
	}
	v.NewClient, v.Secret = client, secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.Render(c, fiber.StatusCreated, views.AdminClientsPage(v))
}

// AdminRevokeClient revokes a client and its tokens.
func (h *Handler) AdminRevokeClient(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.RevokeAPIClient(c.UserContext(), id, web.ActorOf(c)); err != nil {
		return err
	}
	return c.Redirect("/admin/clients", fiber.StatusSeeOther)
}

// AdminClient shows one client: its redirect URIs and the grants users gave it.
func (h *Handler) AdminClient(c *fiber.Ctx) error {
	v, err := h.clientView(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, views.AdminClientPage(v))
}

func (h *Handler) clientView(c *fiber.Ctx) (views.AdminClientView, error) {
	id, err := adminID(c)
	if err != nil {
		return views.AdminClientView{}, err
	}
	client, err := h.Store.APIClient(c.UserContext(), id)
	if err != nil {
		return views.AdminClientView{}, err
	}
	grants, err := h.Store.ClientGrants(c.UserContext(), id)
	if err != nil {
		return views.AdminClientView{}, err
	}
	return views.AdminClientView{AdminView: adminView(c, "API client "+client.Name, "clients"), Client: *client,
		RedirectURIs: strings.Join(client.RedirectURIList(), "\n"), Grants: grants}, nil
}

// AdminSetRedirectURIs replaces a client's redirect URIs; a refused list is shown again as typed.
func (h *Handler) AdminSetRedirectURIs(c *fiber.Ctx) error {
	v, err := h.clientView(c)
	if err != nil {
		return err
	}
	typed := c.FormValue("redirect_uris")
	if err := h.Store.SetRedirectURIs(c.UserContext(), v.Client.ID, []string{typed}, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error {
			v.Error, v.RedirectURIs = msg, typed
			return web.Render(c, status, views.AdminClientPage(v))
		})
	}
	return c.Redirect("/admin/clients/"+v.Client.ID.String(), fiber.StatusSeeOther)
}

// AdminRevokeGrant revokes one user's grant: the client's tokens for that user stop at once.
func (h *Handler) AdminRevokeGrant(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	grant, err := uuid.Parse(c.Params("grant"))
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, "No such grant.")
	}
	if err := h.Store.RevokeGrant(c.UserContext(), id, grant, web.ActorOf(c)); err != nil {
		return err
	}
	return c.Redirect("/admin/clients/"+id.String(), fiber.StatusSeeOther)
}
