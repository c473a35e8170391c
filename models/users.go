package models

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// User is a person who logs in. EmployeeID links the user to the employee who appears as
// SalesRepresentative on opportunities.
type User struct {
	ID               uuid.UUID `gorm:"primaryKey;type:uuid"`
	Email            string
	PasswordHash     string `json:"-"`
	Role             string
	EmployeeID       *uuid.UUID `gorm:"type:uuid"`
	IsActive         bool
	CreationDate     time.Time
	LastMutationDate time.Time
}

func (User) TableName() string { return "users" }

// Actor is the user as the author of changes.
func (u *User) Actor() Actor { return Actor{EmployeeID: u.EmployeeID, Role: u.Role} }

// Session is a server-side login session; the browser holds the token, the row its hash.
// CSRFSecret is the session's CSRF token, made with the session (so every login rotates it) and
// read with it (so checking it costs no query of its own and a page view writes nothing).
type Session struct {
	TokenHash  string    `gorm:"primaryKey"`
	UserID     uuid.UUID `gorm:"type:uuid"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	CSRFSecret string `gorm:"column:csrf_secret" json:"-"`
}

// ActiveSession is a valid session: its user and its CSRF secret.
type ActiveSession struct {
	User       *User
	CSRFSecret string
}

func (Session) TableName() string { return "sessions" }

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// MinPasswordLength is the shortest password accepted (NIST SP 800-63B's minimum).
const MinPasswordLength = 8

// NewUser is the input of CreateUser. An empty Password is refused.
type NewUser struct {
	Email      string
	Password   string
	Role       string
	EmployeeID *uuid.UUID
}

// NormalizeEmail trims and lower-cases an email, the form in which it is stored and looked up.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser adds a user; an email already in use (in any case) is a conflict on "Email".
func (s *Store) CreateUser(ctx context.Context, in NewUser, actor Actor) (*User, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, err
	}
	email := NormalizeEmail(in.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return nil, FieldError("Email", "Enter a valid email address.")
	}
	if !ValidRole(in.Role) {
		return nil, FieldError("Role", "Choose a role: rep, manager or admin.")
	}
	if err := checkPassword(in.Password); err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{ID: uuid.New(), Email: email, PasswordHash: HashPassword(in.Password), Role: in.Role,
		EmployeeID: in.EmployeeID, IsActive: true, CreationDate: now, LastMutationDate: now}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if u.EmployeeID != nil {
			if err := mustExist(tx, &Employee{}, *u.EmployeeID, "Employee"); err != nil {
				return err
			}
		}
		return mapDBError(tx.Create(u).Error, "Email")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func checkPassword(p string) error {
	switch n := len([]rune(p)); {
	case n < MinPasswordLength:
		return FieldError("Password", "The password must have at least %d characters.", MinPasswordLength)
	case len(p) > 1024:
		return FieldError("Password", "The password is too long.")
	}
	return nil
}

// errBadLogin is the one answer to every failed login, so that it tells nothing about which
// part was wrong or whether the account exists.
var errBadLogin = Errorf(EUnauthorized, "That email and password do not match an active account.")

// Authenticate checks an email and password. Unknown emails cost as much as wrong passwords.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	var rows []User
	if err := s.db(ctx).Where("email = ?", NormalizeEmail(email)).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(password) > 1024 {
		CheckPassword(dummyHash(), password)
		return nil, errBadLogin
	}
	u := &rows[0]
	if !CheckPassword(u.PasswordHash, password) || !u.IsActive {
		return nil, errBadLogin
	}
	return u, nil
}

// User loads one user.
func (s *Store) User(ctx context.Context, id uuid.UUID) (*User, error) {
	var u User
	err := s.db(ctx).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(ENotFound, "That user does not exist.")
	}
	return &u, err
}

// Users lists every user by email.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.db(ctx).Order("email").Find(&out).Error
	return out, err
}

// CountUsers counts the users (zero on a first start).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// EmployeeByEmail finds an employee by email (case-insensitive).
func (s *Store) EmployeeByEmail(ctx context.Context, email string) (*Employee, error) {
	var rows []Employee
	err := s.db(ctx).Scopes(withPerson("employees")).Where("LOWER(rp.email_address) = ?", NormalizeEmail(email)).Order("employees.id").Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, FieldError("Employee", "No employee has the email %q.", email)
	}
	return &rows[0], nil
}

// SetUserRole changes a user's role. Admins cannot demote themselves, so that there is always
// someone left who can undo a mistake.
func (s *Store) SetUserRole(ctx context.Context, id uuid.UUID, role string, actor Actor, actorUserID uuid.UUID) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	if !ValidRole(role) {
		return FieldError("Role", "Choose a role: rep, manager or admin.")
	}
	if id == actorUserID && role != RoleAdmin {
		return Errorf(EInvalid, "You cannot remove your own administrator role.")
	}
	return s.updateUser(ctx, id, map[string]any{"role": role}, false, actor)
}

// SetUserActive activates or deactivates a user; deactivating ends the user's sessions at once
// and suspends the OAuth grants the user gave (every instance refuses their tokens while the
// user is inactive; reactivating resumes them, as it keeps history).
func (s *Store) SetUserActive(ctx context.Context, id uuid.UUID, active bool, actor Actor, actorUserID uuid.UUID) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	if id == actorUserID && !active {
		return Errorf(EInvalid, "You cannot deactivate your own account.")
	}
	return s.updateUser(ctx, id, map[string]any{"is_active": active}, false, actor)
}

// SetUserPassword replaces a user's password and ends the user's sessions and the OAuth grants
// the user gave: a reset is how an admin recovers a compromised account, and a client the
// intruder allowed must not keep acting for the user (the user consents again).
func (s *Store) SetUserPassword(ctx context.Context, id uuid.UUID, password string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	return s.updateUser(ctx, id, map[string]any{"password_hash": HashPassword(password)}, true, actor)
}

// updateUser applies a change and, as any change of rights should, logs the user out everywhere:
// it ends the sessions, revokes the OAuth grants if revokeGrants, and records a ChangeTypeUser
// change in the same transaction, so that every instance forgets the verified tokens acting for
// the user (tokencache.go) — they are verified again, against the changed row, on their next use.
func (s *Store) updateUser(ctx context.Context, id uuid.UUID, set map[string]any, revokeGrants bool, actor Actor) error {
	err := s.transact(ctx, func(tx *gorm.DB) error {
		now := s.now()
		set["last_mutation_date"] = now
		res := tx.Model(&User{}).Where("id = ?", id).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That user does not exist.")
		}
		if err := tx.Where("user_id = ?", id).Delete(&Session{}).Error; err != nil {
			return err
		}
		if revokeGrants {
			if err := tx.Model(&OAuthGrant{}).Where("user_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
				return err
			}
		}
		return s.emit(tx, recordChange(ChangeTypeUser, id, ChangeUpdated, actor, now))
	})
	s.tokens.forgetUser(id) // after the commit: a lookup meanwhile read the row before it
	return err
}

// CreateSession starts a session for a user and returns the token for the cookie.
func (s *Store) CreateSession(ctx context.Context, userID uuid.UUID) (token string, expires time.Time, err error) {
	token, hash := newToken()
	csrf, _ := newToken()
	now := s.now()
	expires = now.Add(SessionTTL)
	err = s.db(ctx).Create(&Session{TokenHash: hash, UserID: userID, CreatedAt: now, ExpiresAt: expires, CSRFSecret: csrf}).Error
	return token, expires, err
}

// SessionUser returns the active user of an unexpired session, or an EUnauthorized error.
func (s *Store) SessionUser(ctx context.Context, token string) (*User, error) {
	a, err := s.Session(ctx, token)
	if err != nil {
		return nil, err
	}
	return a.User, nil
}

// Session returns the user and CSRF secret of an unexpired session of an active user (one
// query), or an EUnauthorized error.
func (s *Store) Session(ctx context.Context, token string) (*ActiveSession, error) {
	if token == "" || len(token) > 100 {
		return nil, Errorf(EUnauthorized, "Please log in.")
	}
	var rows []struct {
		User       `gorm:"embedded"`
		CSRFSecret string
	}
	err := s.db(ctx).Table("users AS u").Select("u.*, ss.csrf_secret").
		Joins("JOIN sessions ss ON ss.user_id = u.id").
		Where("ss.token_hash = ? AND ss.expires_at > ? AND u.is_active AND ss.csrf_secret <> ''", hashToken(token), s.now()).
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(EUnauthorized, "Your session has ended; please log in again.")
	}
	return &ActiveSession{User: &rows[0].User, CSRFSecret: rows[0].CSRFSecret}, nil
}

// DeleteSession ends a session (logout). An unknown token is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.db(ctx).Where("token_hash = ?", hashToken(token)).Delete(&Session{}).Error
}

// OAuthReplayWindow is how long a spent authorization code or refresh token is kept past its
// expiry: presented again within it, it still revokes the grant it made or rotated (RFC 6749
// §4.1.2, RFC 9700 §4.14.2); after it, it is only an unknown one.
const OAuthReplayWindow = 24 * time.Hour

// PurgeExpiredSessions removes expired sessions and access tokens, authorization codes and
// refresh tokens past their expiry and OAuthReplayWindow, and the refresh tokens of revoked
// grants (the grants stay: the admin page lists them). Every instance calls it now and then;
// the one holding the lock purges, the others skip.
func (s *Store) PurgeExpiredSessions(ctx context.Context) error {
	now := s.now()
	replayed := now.Add(-OAuthReplayWindow)
	return s.transact(ctx, func(tx *gorm.DB) error {
		if got, err := s.sql.schemaLock(tx, "phaseboard.purge.expired"); err != nil || !got {
			return err
		}
		for _, del := range []struct {
			model any
			where string
			args  []any
		}{
			{&Session{}, "expires_at <= ?", []any{now}},
			{&AccessToken{}, "expires_at <= ?", []any{now}},
			{&OAuthCode{}, "expires_at <= ?", []any{replayed}},
			{&OAuthRefreshToken{}, "expires_at <= ?", []any{replayed}},
			{&OAuthRefreshToken{}, "grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at IS NOT NULL)", nil},
		} {
			if err := tx.Where(del.where, del.args...).Delete(del.model).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// UserByEmail finds a user by email (in any case); an unknown email is ENotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var rows []User
	if err := s.DB.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(ENotFound, "No user has the email %q.", NormalizeEmail(email))
	}
	return &rows[0], nil
}
