package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// DemoPassword is the password of the demo users. It is only ever set on the embedded demo
// database that a first start creates, never on PostgreSQL.
const DemoPassword = "phaseboard-demo"

// DemoManagerEmail is the demo manager's login.
const DemoManagerEmail = "manager@phaseboard.example"

// DefaultAdminEmail is the first admin's login when PHASEBOARD_ADMIN_EMAIL is unset.
const DefaultAdminEmail = "admin@phaseboard.example"

// Credential is a login to print once at start.
type Credential struct {
	Email, Password, Role string
}

// EnsureFirstAdmin creates the first admin when there is no user at all. An empty password is
// replaced by a random one; either way the credential is returned for printing once. It returns
// nil when users already exist.
func (s *Store) EnsureFirstAdmin(ctx context.Context, email, password string) (*Credential, error) {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return nil, err
	}
	if email == "" {
		email = DefaultAdminEmail
	}
	if password == "" {
		password = RandomPassword()
	}
	u, err := s.CreateUser(ctx, NewUser{Email: email, Password: password, Role: RoleAdmin}, Actor{})
	if err != nil {
		return nil, err
	}
	return &Credential{Email: u.Email, Password: password, Role: u.Role}, nil
}

// CreateDemoUsers gives every demo employee a rep login and adds a manager, all with
// DemoPassword. Logins that exist already are left alone.
func (s *Store) CreateDemoUsers(ctx context.Context) ([]Credential, error) {
	var reps []Employee
	if err := s.db(ctx).Scopes(withPerson("employees")).Where("employees.import_id LIKE ?", "demo:employee:%").Order("rp.first_name").Find(&reps).Error; err != nil {
		return nil, err
	}
	var out []Credential
	add := func(email, role string, emp *Employee) error {
		in := NewUser{Email: email, Password: DemoPassword, Role: role}
		if emp != nil {
			in.EmployeeID = &emp.ID
		}
		u, err := s.CreateUser(ctx, in, Actor{})
		if ErrorCode(err) == EConflict {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, Credential{Email: u.Email, Password: DemoPassword, Role: role})
		return nil
	}
	for i := range reps {
		if err := add(reps[i].Email, RoleRep, &reps[i]); err != nil {
			return nil, err
		}
	}
	if err := add(DemoManagerEmail, RoleManager, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// HasDemoData reports whether the demo reference data is loaded.
func (s *Store) HasDemoData(ctx context.Context) (bool, error) {
	var p Pipeline
	err := s.db(ctx).Where("import_id = ?", "demo:pipeline:sales").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}
