package handlers

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

type templComponent = templ.Component

// joinComponents renders several fragments in one response (htmx out-of-band swaps).
func joinComponents(parts ...templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		for _, p := range parts {
			if err := p.Render(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
}
