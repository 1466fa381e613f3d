package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound reports that a row does not exist in the tenant (or at all: the
// two are never told apart, so ids of other tenants reveal nothing).
var ErrNotFound = errors.New("not found")

// ErrConflict reports a unique violation, a serialization failure or a
// version mismatch: someone else changed the same thing first.
var ErrConflict = errors.New("conflict")

// ErrInvalidReference reports an id in the input that names nothing in the
// tenant (a foreign key failed), such as another tenant's team.
var ErrInvalidReference = errors.New("invalid reference")

// mapErr translates driver errors into the store's sentinels, keeping the
// original in the chain for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", "40001", "40P01": // unique, serialization, deadlock
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "23503": // foreign key
			return fmt.Errorf("%w: %w", ErrInvalidReference, err)
		case "22P02": // invalid text representation, e.g. a malformed uuid
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}

// constraintOf returns the name of the constraint a driver error violated.
func constraintOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// constraintCode returns the SQLSTATE of a driver error, or "".
func constraintCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
