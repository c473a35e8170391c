package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// ratesListed is how many rates the currencies page lists.
const ratesListed = 500

func (h *Handler) renderCurrencies(c *fiber.Ctx, status int, msg, notice string, form map[string]string) error {
	ctx := c.UserContext()
	reporting, err := h.Store.ReportingCurrency(ctx)
	if err != nil {
		return err
	}
	filter := strings.ToUpper(strings.TrimSpace(c.Query("currency")))
	if len(filter) > 3 {
		filter = filter[:3]
	}
	rates, err := h.Store.Rates(ctx, filter, ratesListed)
	if err != nil {
		return err
	}
	v := views.AdminCurrenciesView{AdminView: adminView(c, "Currencies", "currencies"), Reporting: reporting, Rates: rates, Currency: filter, Form: form}
	v.Error, v.Notice = msg, notice
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	return web.Render(c, status, views.AdminCurrenciesPage(v))
}

// AdminCurrencies shows the reporting currency and the exchange rates.
func (h *Handler) AdminCurrencies(c *fiber.Ctx) error {
	notice := ""
	if n := c.Query("imported"); n != "" {
		notice = n + " rates imported."
	}
	return h.renderCurrencies(c, fiber.StatusOK, "", notice, nil)
}

// AdminSetReportingCurrency changes the reporting currency.
func (h *Handler) AdminSetReportingCurrency(c *fiber.Ctx) error {
	if err := h.Store.SetReportingCurrency(c.UserContext(), c.FormValue("currency"), web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderCurrencies(c, status, msg, "", nil) })
	}
	return c.Redirect("/admin/currencies", fiber.StatusSeeOther)
}

// AdminAddRate enters one rate; a refusal keeps what was typed.
func (h *Handler) AdminAddRate(c *fiber.Ctx) error {
	form := map[string]string{"currency": c.FormValue("currency"), "day": c.FormValue("day"), "rate": c.FormValue("rate")}
	again := func(msg string, status int) error { return h.renderCurrencies(c, status, msg, "", form) }
	day, err := models.ParseDate(strings.TrimSpace(form["day"]))
	if err != nil {
		return again("The day must be a date (YYYY-MM-DD).", fiber.StatusBadRequest)
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(form["rate"]), 64)
	if err != nil {
		return again("The rate must be a number such as 1.0832.", fiber.StatusBadRequest)
	}
	if err := h.Store.SaveRates(c.UserContext(), []models.RateInput{{Currency: form["currency"], Day: day, Rate: rate}}, web.ActorOf(c)); err != nil {
		return refused(err, again)
	}
	return c.Redirect("/admin/currencies", fiber.StatusSeeOther)
}

// AdminImportRates imports rates from an uploaded CSV file, all or none.
func (h *Handler) AdminImportRates(c *fiber.Ctx) error {
	again := func(msg string, status int) error { return h.renderCurrencies(c, status, msg, "", nil) }
	fh, err := c.FormFile("file")
	if err != nil {
		return again("Choose a CSV file to import.", fiber.StatusBadRequest)
	}
	f, err := fh.Open()
	if err != nil {
		return again("The file could not be read.", fiber.StatusBadRequest)
	}
	defer f.Close()
	rates, err := models.ParseRatesCSV(f)
	if err == nil {
		err = h.Store.SaveRates(c.UserContext(), rates, web.ActorOf(c))
	}
	if err != nil {
		return refused(err, again)
	}
	return c.Redirect("/admin/currencies?imported="+strconv.Itoa(len(rates)), fiber.StatusSeeOther)
}

// AdminDeleteRate removes one rate.
func (h *Handler) AdminDeleteRate(c *fiber.Ctx) error {
	day, err := models.ParseDate(c.FormValue("day"))
	if err != nil {
		return badRequest("The day must be a date (YYYY-MM-DD).")
	}
	if err := h.Store.DeleteRate(c.UserContext(), c.FormValue("currency"), day, web.ActorOf(c)); err != nil {
		return refused(err, func(msg string, status int) error { return h.renderCurrencies(c, status, msg, "", nil) })
	}
	return c.Redirect("/admin/currencies", fiber.StatusSeeOther)
}
