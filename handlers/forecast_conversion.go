package handlers

import (
	"github.com/gofiber/fiber/v2"

	"phaseboard/models"
	"phaseboard/views"
	"phaseboard/web"
)

// Conversion renders a sales pipeline's conversion and velocity (models.ConversionReport) for
// the opportunities created in the URL's range: by default the last twelve months, of the
// first sales pipeline.
func (h *Handler) Conversion(c *fiber.Ctx) error {
	q, err := queryValues(c)
	if err != nil {
		return err
	}
	if q.Get("from") == "" && q.Get("to") == "" {
		today := h.today()
		q.Set("from", models.NewDate(today.Year(), today.Month()-11, 1).Format("2006-01"))
		q.Set("to", today.Format("2006-01"))
	}
	f, _, err := h.forecastFilter(c, q)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	pipelines, err := h.Store.SalesPipelines(ctx)
	if err != nil {
		return err
	}
	if len(pipelines) == 0 {
		return fiber.NewError(fiber.StatusNotFound, "There is no sales pipeline yet.")
	}
	if f.PipelineID == nil {
		f.PipelineID = &pipelines[0].ID
	}
	report, err := h.Store.ConversionReport(ctx, models.ConversionFilter{PipelineID: *f.PipelineID, RepID: f.RepID, By: f.By, From: f.From, To: f.To})
	if err != nil {
		return err
	}
	reps, err := h.Store.Employees(ctx)
	if err != nil {
		return err
	}
	v := views.ConversionView{Page: page(c, "Conversion", "forecast"), Filter: f, Pipelines: pipelines, Reps: reps, Report: report,
		Funnel: views.NewFunnelChart(report.Stages, report.Total), Query: forecastQuery(f)}
	for _, p := range pipelines {
		r := report
		if p.ID != report.Pipeline.ID {
			if r, err = h.Store.ConversionReport(ctx, models.ConversionFilter{PipelineID: p.ID, RepID: f.RepID, By: f.By, From: f.From, To: f.To}); err != nil {
				return err
			}
		}
		v.ByPipeline = append(v.ByPipeline, views.PipelineConversion{Name: p.Name, Row: r.Total})
	}
	return web.Render(c, fiber.StatusOK, views.ConversionPage(v))
}
