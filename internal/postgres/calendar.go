package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// weekJSON is how working hours are stored: the API's form.
func weekJSON(w sla.Week) ([]byte, error) {
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode hours: %w", err)
	}
	return b, nil
}

func parseWeekJSON(b []byte) (sla.Week, error) {
	var raw map[string][][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return sla.Week{}, fmt.Errorf("decode hours: %w", err)
	}
	w, errs := sla.ParseWeek(raw)
	if errs != nil {
		return sla.Week{}, fmt.Errorf("stored hours: %w", errs)
	}
	return w, nil
}

func insertCalendar(ctx context.Context, tx pgx.Tx, tid tenant.ID, in sla.CalendarInput, isDefault bool, now time.Time) (uuid.UUID, error) {
	id := uuid.New()
	hours, err := weekJSON(in.Hours)
	if err != nil {
		return uuid.Nil, err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO calendars (tenant_id, id, name, time_zone, always_open, hours, is_default, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		tid, id, in.Name, in.TimeZone, in.AlwaysOpen, hours, isDefault, now); err != nil {
		return uuid.Nil, fmt.Errorf("insert calendar: %w", err)
	}
	if err := replaceHolidays(ctx, tx, tid, id, in.Holidays); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

func replaceHolidays(ctx context.Context, tx pgx.Tx, tid tenant.ID, calID uuid.UUID, hs []sla.Holiday) error {
	if _, err := tx.Exec(ctx, `DELETE FROM calendar_holidays WHERE tenant_id = $1 AND calendar_id = $2`, tid, calID); err != nil {
		return fmt.Errorf("delete holidays: %w", err)
	}
	for _, h := range hs {
		if _, err := tx.Exec(ctx, `
			INSERT INTO calendar_holidays (tenant_id, calendar_id, day, name) VALUES ($1, $2, $3::date, $4)`,
			tid, calID, h.Date, h.Name); err != nil {
			return fmt.Errorf("insert holiday %s: %w", h.Date, err)
		}
	}
	return nil
}

// FindCalendars returns every calendar of tenant tid with its holidays, the
// default first.
func (s *Store) FindCalendars(ctx context.Context, tid tenant.ID) ([]sla.Calendar, error) {
	var out []sla.Calendar
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findCalendars(ctx, tx, tid, uuid.Nil)
		return err
	})
	return out, err
}

// FindCalendar returns calendar id of tenant tid.
func (s *Store) FindCalendar(ctx context.Context, tid tenant.ID, id uuid.UUID) (sla.Calendar, error) {
	var out []sla.Calendar
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		out, err = findCalendars(ctx, tx, tid, id)
		return err
	})
	if err != nil {
		return sla.Calendar{}, err
	}
	if len(out) == 0 {
		return sla.Calendar{}, fmt.Errorf("find calendar: %w", ErrNotFound)
	}
	return out[0], nil
}

// findCalendars loads calendars (all, or only id) with their holidays.
func findCalendars(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) ([]sla.Calendar, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.id, c.name, c.time_zone, c.always_open, c.hours, c.is_default, c.updated_at,
		       coalesce(jsonb_agg(jsonb_build_object('date', h.day::text, 'name', h.name) ORDER BY h.day)
		                FILTER (WHERE h.day IS NOT NULL), '[]')
		FROM calendars c
		LEFT JOIN calendar_holidays h ON h.tenant_id = c.tenant_id AND h.calendar_id = c.id
		WHERE c.tenant_id = $1 AND ($2::uuid IS NULL OR c.id = $2)
		GROUP BY c.tenant_id, c.id
		ORDER BY c.is_default DESC, c.name`, tid, nullUUID(id))
	if err != nil {
		return nil, fmt.Errorf("query calendars: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (sla.Calendar, error) {
		var c sla.Calendar
		var hours, holidays []byte
		if err := r.Scan(&c.ID, &c.Name, &c.TimeZone, &c.AlwaysOpen, &hours, &c.IsDefault, &c.UpdatedAt, &holidays); err != nil {
			return c, fmt.Errorf("scan calendar: %w", err)
		}
		w, err := parseWeekJSON(hours)
		if err != nil {
			return c, err
		}
		c.Hours = w
		if err := json.Unmarshal(holidays, &c.Holidays); err != nil {
			return c, fmt.Errorf("decode holidays: %w", err)
		}
		return c, nil
	})
}

// CreateCalendar adds a calendar to tenant tid.
func (s *Store) CreateCalendar(ctx context.Context, tid tenant.ID, actor auth.Actor, in sla.CalendarInput, now time.Time) (sla.Calendar, error) {
	var id uuid.UUID
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if id, err = insertCalendar(ctx, tx, tid, in, false, now); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "calendar.created", "calendar", id.String(), nil, calendarAudit(in))
	})
	if err != nil {
		return sla.Calendar{}, err
	}
	return s.FindCalendar(ctx, tid, id)
}

func calendarAudit(in sla.CalendarInput) map[string]any {
	return map[string]any{"name": in.Name, "time_zone": in.TimeZone, "always_open": in.AlwaysOpen,
		"hours": in.Hours, "holidays": in.Holidays}
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// UpdateCalendar replaces calendar id of tenant tid and queues the
// recomputation of the running timers (a forgotten holiday, new hours) in
// the same transaction.
func (s *Store) UpdateCalendar(ctx context.Context, tid tenant.ID, actor auth.Actor, id uuid.UUID, in sla.CalendarInput, now time.Time) (sla.Calendar, error) {
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findCalendars(ctx, tx, tid, id)
		if err != nil {
			return err
		}
		if len(before) == 0 {
			return fmt.Errorf("update calendar: %w", ErrNotFound)
		}
		hours, err := weekJSON(in.Hours)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE calendars SET name = $3, time_zone = $4, always_open = $5, hours = $6, updated_at = $7
			WHERE tenant_id = $1 AND id = $2`, tid, id, in.Name, in.TimeZone, in.AlwaysOpen, hours, now); err != nil {
			return fmt.Errorf("update calendar: %w", err)
		}
		if err := replaceHolidays(ctx, tx, tid, id, in.Holidays); err != nil {
			return err
		}
		b := before[0]
		if err := insertAudit(ctx, tx, tid, actor, now, "calendar.updated", "calendar", id.String(),
			calendarAudit(sla.CalendarInput{Name: b.Name, TimeZone: b.TimeZone, AlwaysOpen: b.AlwaysOpen, Hours: b.Hours, Holidays: b.Holidays}),
			calendarAudit(in)); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx, RecomputeArgs{TenantID: tid.String(), Reason: "calendar " + in.Name + " edited", CalendarID: id.String()}, nil); err != nil {
			return fmt.Errorf("enqueue recompute: %w", err)
		}
		return nil
	})
	if err != nil {
		return sla.Calendar{}, err
	}
	return s.FindCalendar(ctx, tid, id)
}
