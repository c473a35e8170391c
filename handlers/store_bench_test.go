package handlers_test

// The store-level parts of a board request, to tell database time from rendering time.

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
)

func BenchmarkStoreMove(b *testing.B) {
	s := benchServer(b)
	rng := rand.New(rand.NewPCG(3, 3))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		card := uuid.MustParse(benchCards[rng.IntN(len(benchCards))])
		after := uuid.MustParse(benchCards[rng.IntN(len(benchCards))])
		if _, err := s.store.MoveActivity(ctx, card, benchOpen[rng.IntN(3)].ID, &after, nil, nil, models.Actor{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreColumnTotals(b *testing.B) {
	s := benchServer(b)
	pipe, _ := fixture(b, s.store)
	for i := 0; i < b.N; i++ {
		s.store.Columns(context.Background(), models.BoardFilter{PipelineID: pipe.ID})
	}
}

func BenchmarkStoreFirstCards(b *testing.B) {
	s := benchServer(b)
	pipe, _ := fixture(b, s.store)
	for i := 0; i < b.N; i++ {
		s.store.Cards(context.Background(), models.BoardFilter{PipelineID: pipe.ID}, benchOpen[0].ID, nil, 51)
	}
}
