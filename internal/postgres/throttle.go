package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Throttle is the sign-in throttle's policy: at most PerAccount failures for
// one email and PerClient failures from one address within Window.
type Throttle struct {
	Window     time.Duration
	PerAccount int
	PerClient  int
}

// DefaultThrottle is DESIGN.md §9: ten wrong passwords for one account
// within 15 minutes; a higher bound per client address.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, PerAccount: 10, PerClient: 50}

// LoginBlocked reports whether sign-in for email from ip is throttled at now,
// and when the window that blocks it ends.
func (s *Store) LoginBlocked(ctx context.Context, th Throttle, email, ip string, now time.Time) (time.Duration, bool, error) {
	since := now.Add(-th.Window)
	var wait time.Duration
	for _, q := range []struct {
		col   string
		value string
		limit int
	}{{"email", email, th.PerAccount}, {"ip", ip, th.PerClient}} {
		// The window ends when the limit-th newest failure leaves it.
		var at time.Time
		err := s.pool.QueryRow(ctx, `
			SELECT at FROM login_failures WHERE `+q.col+` = $1 AND at > $2
			ORDER BY at DESC OFFSET $3 - 1 LIMIT 1`, q.value, since, q.limit).Scan(&at)
		if err != nil {
			if isNotFound(mapErr(err)) {
				continue
			}
			return 0, false, fmt.Errorf("check login throttle: %w", err)
		}
		if w := at.Add(th.Window).Sub(now); w > wait {
			wait = w
		}
	}
	return wait, wait > 0, nil
}

// RecordLoginFailure notes a wrong password (or unknown account) for email from ip.
func (s *Store) RecordLoginFailure(ctx context.Context, email, ip string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)`, email, ip, now); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets an account's failures after a successful sign-in.
func (s *Store) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE email = $1`, email); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// DeleteOldLoginFailures removes failures older than the window; the worker runs it.
func (s *Store) DeleteOldLoginFailures(ctx context.Context, th Throttle, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE at <= $1`, now.Add(-th.Window)); err != nil {
		return fmt.Errorf("delete old login failures: %w", err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
