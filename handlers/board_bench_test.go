package handlers_test

import (
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"

	"phaseboard/migrations"
	"phaseboard/models"
)

// benchBoard is a PostgreSQL Phaseboard whose sales pipeline holds N open opportunities
// (PHASEBOARD_BENCH_BOARD_OPPORTUNITIES, default 10,000), spread over its three open phases.
var (
	benchOnce  sync.Once
	benchSrv   *server
	benchOpen  []models.Phase
	benchCards []string
)

func benchServer(b *testing.B) *server {
	benchOnce.Do(func() {
		n := 10000
		if v, err := strconv.Atoi(os.Getenv("PHASEBOARD_BENCH_BOARD_OPPORTUNITIES")); err == nil && v > 0 {
			n = v
		}
		// The server outlives this benchmark (shared by the others): clean up at process end.
		benchSrv = newServer(processTB{b}, migrations.Postgres, n)
		pipe, phases := fixture(b, benchSrv.store)
		benchOpen = []models.Phase{phases["Qualification"], phases["Proposal"], phases["Negotiation"]}
		db := benchSrv.store.DB
		// Put every opportunity into the sales pipeline's open phases, as the figure asks.
		for i, p := range benchOpen {
			if err := db.Exec(`UPDATE activities SET pipeline_id = ?, phase_id = ?, is_closed = false, lost_reason_id = NULL,
				probability = ?, weighted_amount = estimated_amount * ? / 100 WHERE abs(hashtext(id::text)) % 3 = ?`,
				pipe.ID, p.ID, p.DefaultProbability, p.DefaultProbability, i).Error; err != nil {
				b.Fatal(err)
			}
		}
		db.Exec("ANALYZE activities, phases, phase_changes") // this schema's tables, not the whole shared database
		db.Model(&models.Activity{}).Where("type = ?", models.SalesOpportunity.Type).Limit(2000).Pluck("id::text", &benchCards)
	})
	if benchSrv == nil {
		b.Fatal("benchmark set-up failed")
	}
	return benchSrv
}

// BenchmarkBoardPage renders /board: five columns, their database totals and 50 cards each.
func BenchmarkBoardPage(b *testing.B) {
	s := benchServer(b)
	c := s.client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code, _ := c.get("/board"); code != 200 {
			b.Fatalf("board answered %d", code)
		}
	}
}

// BenchmarkMove drags random cards to random places in the open columns (one at a time).
func BenchmarkMove(b *testing.B) {
	s := benchServer(b)
	c := s.client()
	c.get("/board")
	rng := rand.New(rand.NewPCG(7, 7))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		move(b, c, rng)
	}
}

// BenchmarkMoveParallel measures move throughput with concurrent users (GOMAXPROCS × 4).
func BenchmarkMoveParallel(b *testing.B) {
	s := benchServer(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := s.client()
		c.get("/board")
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			move(b, c, rng)
		}
	})
}

// move is a drag: the page has placed the card (placed=1), the answer is the card and the two
// column headers.
func move(b *testing.B, c *client, rng *rand.Rand) { moveAnswered(b, c, rng, "1") }

// moveAnswered is a move whose answer is the card and the headers (placed "1") or both columns
// re-rendered (placed "": the "Move to" panel, a drop on Won or Lost).
func moveAnswered(b *testing.B, c *client, rng *rand.Rand, placed string) {
	card := benchCards[rng.IntN(len(benchCards))]
	after := benchCards[rng.IntN(len(benchCards))]
	phase := benchOpen[rng.IntN(len(benchOpen))]
	resp, body := c.post("/board/opportunities/"+card+"/move", url.Values{
		"phase_id": {phase.ID.String()}, "after_id": {after}, "from_count": {"50"}, "to_count": {"50"}, "placed": {placed}}, true)
	if resp.StatusCode != 200 {
		b.Fatalf("move answered %d: %s", resp.StatusCode, body)
	}
}
