package handlers

import (
	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

func (h *Handler) usersView(c *fiber.Ctx) (views.AdminUsersView, error) {
	users, err := h.Store.Users(c.UserContext())
	if err != nil {
		return views.AdminUsersView{}, err
	}
	emps, err := h.Store.Employees(c.UserContext())
	if err != nil {
		return views.AdminUsersView{}, err
	}
	return views.AdminUsersView{AdminView: adminView(c, "Users", "users"), Users: users, Employees: emps,
		Form: map[string]string{"role": models.RoleRep}, Me: actorUserID(c)}, nil
}

func (h *Handler) renderUsers(c *fiber.Ctx, status int, msg string, form map[string]string) error {
	v, err := h.usersView(c)
	if err != nil {
		return err
	}
	v.Error = msg
	if form != nil {
		v.Form = form
	}
	return web.Render(c, status, views.AdminUsersPage(v))
}

// AdminUsers lists the users.
func (h *Handler) AdminUsers(c *fiber.Ctx) error { return h.renderUsers(c, fiber.StatusOK, "", nil) }

// AdminAddUser adds a user; a refusal keeps what was typed (but never the password).
func (h *Handler) AdminAddUser(c *fiber.Ctx) error {
	form := map[string]string{"email": c.FormValue("email"), "role": c.FormValue("role"), "employee_id": c.FormValue("employee_id")}
	emp, err := optionalID(form["employee_id"], "employee")
	if err != nil {
		return err
	}
	_, err = h.Store.CreateUser(c.UserContext(), models.NewUser{Email: form["email"], Password: c.FormValue("password"),
		Role: form["role"], EmployeeID: emp}, web.ActorOf(c))
	if err != nil {
		return refused(err, func(msg string, status int) error { return h.renderUsers(c, status, msg, form) })
	}
	return c.Redirect("/admin/users", fiber.StatusSeeOther)
}

// AdminSetRole changes a user's role (the user's sessions end, so the new role applies at once).
func (h *Handler) AdminSetRole(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.SetUserRole(c.UserContext(), id, c.FormValue("role"), web.ActorOf(c), actorUserID(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderUsers(c, status, msg, nil) })
	}
	return c.Redirect("/admin/users", fiber.StatusSeeOther)
}

// AdminSetUserActive deactivates (ending every session) or reactivates a user.
func (h *Handler) AdminSetUserActive(c *fiber.Ctx) error {
	id, err := adminID(c)
	if err != nil {
		return err
	}
	if err := h.Store.SetUserActive(c.UserContext(), id, formFlag(c, "active"), web.ActorOf(c), actorUserID(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderUsers(c, status, msg, nil) })
	}
	return c.Redirect("/admin/users", fiber.StatusSeeOther)
}
