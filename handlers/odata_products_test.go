package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// Tribe's Product and ProductLine.Product, on both databases: a linked product gives a line its
// price and name, the activity's line totals follow its lines (never the catalogue: a later
// price change leaves agreed lines alone), refused writes write nothing.
func TestODataProducts(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			rep, _ := authtest.Token(t, e.srv.store, models.RoleRep, "read write", nil)
			if r := e.do("POST", "Product", `{"Name":"Sneaky"}`, "Authorization", "Bearer "+rep); r.status != 403 {
				t.Fatalf("a rep adds a product: %d %s", r.status, r.body)
			}
			r := e.do("POST", "Product", `{"Name":"Licence","Code":"LIC","Description":"A seat","SalesPrice":120,"PurchasePrice":40,"ImportId":"erp:lic"}`)
			if r.status != 201 || r.entity["SalesPrice"] != 120.0 || r.entity["_Type"] != models.TypeProduct {
				t.Fatalf("product: %d %s", r.status, r.body)
			}
			prod := r.entity["ID"].(string)
			r = e.do("POST", "Activity_SalesOpportunity", fmt.Sprintf(`{"Subject":"Seats","Pipeline":{"ID":%q}}`, e.pipe.ID))
			if r.status != 201 {
				t.Fatalf("opportunity: %d %s", r.status, r.body)
			}
			opp := r.entity["ID"].(string)
			totals := func() string {
				r := e.do("GET", "Activity_SalesOpportunity("+opp+")?$select=NumberOfProductLines,TotalSalesExcludingVAT", "")
				return fmt.Sprintf("%v lines, %v", r.entity["NumberOfProductLines"], r.entity["TotalSalesExcludingVAT"])
			}

			r = e.do("POST", "ProductLine", fmt.Sprintf(`{"Activity":{"ID":%q},"Product":{"ID":%q},"Quantity":3}`, opp, prod))
			if r.status != 201 || r.entity["Price"] != 120.0 || r.entity["Description"] != "Licence" || r.entity["Amount"] != 360.0 {
				t.Fatalf("line of the product: %d %s", r.status, r.body)
			}
			line := r.entity["ID"].(string)
			if r := e.do("POST", "ProductLine", fmt.Sprintf(`{"Activity":{"ID":%q},"Product":{"ID":%q},"Quantity":1,"Price":100,"Description":"Discounted seat"}`, opp, prod)); r.status != 201 ||
				r.entity["Price"] != 100.0 || r.entity["Description"] != "Discounted seat" {
				t.Fatalf("line with its own price: %d %s", r.status, r.body)
			}
			if got := totals(); got != "2 lines, 460" {
				t.Fatalf("totals: %s", got)
			}
			// The catalogue changes; the agreed lines and the totals do not.
			if r := e.do("PATCH", "Product("+prod+")", `{"SalesPrice":200}`); r.status != 200 && r.status != 204 {
				t.Fatalf("price change: %d %s", r.status, r.body)
			}
			if got := totals(); got != "2 lines, 460" {
				t.Fatalf("totals after a catalogue change: %s", got)
			}
			if r := e.do("PATCH", "ProductLine("+line+")", `{"Quantity":2}`); r.status != 200 && r.status != 204 {
				t.Fatalf("quantity: %d %s", r.status, r.body)
			}
			if got := totals(); got != "2 lines, 340" {
				t.Fatalf("totals after a quantity change: %s", got)
			}
			for _, c := range []struct{ path, want string }{
				{"ProductLine?$filter=Product/Code eq 'LIC' and Activity/Subject eq 'Seats'&$count=true&$select=Amount", `"@odata.count":2`},
				{"ProductLine(" + line + ")?$select=Amount&$expand=Product($select=Name,SalesPrice)", `"Product":{"Name":"Licence","SalesPrice":200}`},
				{"Product(" + prod + ")?$select=Name&$expand=ProductLine($select=Amount;$orderby=Amount)", `"ProductLine":[{"Amount":100},{"Amount":240}]`},
				{"Product?$filter=SalesPrice gt 150&$select=Code", `"value":[{"Code":"LIC"}]`},
			} {
				if r := e.do("GET", c.path, ""); r.status != 200 || !strings.Contains(r.body, c.want) {
					t.Errorf("GET %s: %d, want %s in %s", c.path, r.status, c.want, r.body)
				}
			}

			// Refused: no such product, a negative price, a product still on a line; nothing is written.
			for _, c := range []struct {
				method, path, body string
				status             int
			}{
				{"POST", "ProductLine", fmt.Sprintf(`{"Activity":{"ID":%q},"Product":{"ID":"00000000-0000-4000-8000-000000000999"}}`, opp), 400},
				{"POST", "Product", `{"Name":"Bad","SalesPrice":-1}`, 400},
				{"POST", "Product", `{"Code":"NONAME"}`, 400},
				{"DELETE", "Product(" + prod + ")", "", 409},
				{"DELETE", "Product(" + prod + ")", "", 403}, // a rep
			} {
				header := []string{}
				if c.status == 403 {
					header = []string{"Authorization", "Bearer " + rep}
				}
				if r := e.do(c.method, c.path, c.body, header...); r.status != c.status {
					t.Errorf("%s %s %s: %d, want %d: %s", c.method, c.path, c.body, r.status, c.status, r.body)
				}
			}
			if got := totals(); got != "2 lines, 340" {
				t.Fatalf("totals after refused writes: %s", got)
			}
			if r := e.do("GET", "Product/$count", ""); r.body != "1" {
				t.Fatalf("products after refused writes: %s", r.body)
			}
			// Unlinking keeps the line as it is.
			if r := e.do("PATCH", "ProductLine("+line+")", `{"Product":null}`); r.status != 200 && r.status != 204 {
				t.Fatalf("unlink: %d %s", r.status, r.body)
			}
			if got := totals(); got != "2 lines, 340" {
				t.Fatalf("totals after unlinking: %s", got)
			}
		})
	}
}
