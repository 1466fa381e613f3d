package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/mail"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// FindUserByEmail returns the user with the (normalised) email, for sign-in.
func (s *Store) FindUserByEmail(ctx context.Context, email string) (auth.User, error) {
	var u auth.User
	var hash, tz *string
	err := s.pool.QueryRow(ctx, `
		SELECT id, email, name, password_hash, time_zone, last_tenant_id, created_at, last_login_at
		FROM users WHERE email = $1`, validator.NormalizeEmail(email)).
		Scan(&u.ID, &u.Email, &u.Name, &hash, &tz, &u.LastTenantID, &u.CreatedAt, &u.LastLoginAt)
	if err != nil {
		return auth.User{}, fmt.Errorf("find user by email: %w", mapErr(err))
	}
	u.PasswordHash = deref(hash)
	u.TimeZone = deref(tz)
	return u, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// FindMemberships returns the active memberships of user uid in every
// tenant, by tenant name: the tenants the user may switch between.
func (s *Store) FindMemberships(ctx context.Context, uid uuid.UUID) ([]auth.Membership, error) {
	var out []auth.Membership
	err := s.inGlobal(ctx, uid, func(tx pgx.Tx) error {
		var err error
		out, err = findMemberships(ctx, tx, uid)
		return err
	})
	return out, err
}

func findMemberships(ctx context.Context, tx pgx.Tx, uid uuid.UUID) ([]auth.Membership, error) {
	rows, err := tx.Query(ctx, `
		SELECT m.tenant_id, t.slug, t.name, m.user_id, m.role, m.team_id, m.manager_id, m.away, m.active
		FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		WHERE m.user_id = $1 AND m.active
		ORDER BY t.name, t.slug`, uid)
	if err != nil {
		return nil, fmt.Errorf("query memberships: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Membership, error) {
		var m auth.Membership
		var role string
		err := r.Scan(&m.TenantID, &m.TenantSlug, &m.TenantName, &m.UserID, &role, &m.TeamID, &m.ManagerID, &m.Away, &m.Active)
		m.Role = tenant.Role(role)
		return m, err
	})
}

// FindPrincipal returns user uid acting in tenant tid, with the list of the
// user's tenants. A user without an active membership in tid is not found.
func (s *Store) FindPrincipal(ctx context.Context, tid tenant.ID, uid uuid.UUID) (auth.Principal, error) {
	p := auth.Principal{Type: auth.ActorUser}
	err := s.inTenantAsUser(ctx, tid, uid, func(tx pgx.Tx) error {
		var role string
		var tz *string
		err := tx.QueryRow(ctx, `
			SELECT u.id, u.email, u.name, u.time_zone, m.role, m.team_id,
			       t.id, t.slug, t.name, t.time_zone, t.currency, t.created_at,
			       (SELECT count(*) FROM notifications n
			        WHERE n.tenant_id = m.tenant_id AND n.user_id = m.user_id AND n.read_at IS NULL)
			FROM memberships m
			JOIN users u ON u.id = m.user_id
			JOIN tenants t ON t.id = m.tenant_id
			WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.active`, tid, uid).
			Scan(&p.ID, &p.Email, &p.Name, &tz, &role, &p.TeamID,
				&p.Tenant.ID, &p.Tenant.Slug, &p.Tenant.Name, &p.Tenant.TimeZone, &p.Tenant.Currency, &p.Tenant.CreatedAt,
				&p.UnreadNotifications)
		if err != nil {
			return fmt.Errorf("find principal: %w", mapErr(err))
		}
		p.Role = tenant.Role(role)
		p.TimeZone = deref(tz)
		p.Memberships, err = findMemberships(ctx, tx, uid)
		return err
	})
	if err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// RecordLogin notes a successful sign-in of user uid into tenant tid.
func (s *Store) RecordLogin(ctx context.Context, uid uuid.UUID, tid tenant.ID, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE users SET last_login_at = $2, last_tenant_id = $3 WHERE id = $1`, uid, now, tid)
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}

// SetLastTenant remembers the tenant user uid switched to, to land there next time.
func (s *Store) SetLastTenant(ctx context.Context, uid uuid.UUID, tid tenant.ID) error {
	_, err := s.pool.Exec(ctx, `UPDATE users SET last_tenant_id = $2 WHERE id = $1`, uid, tid)
	if err != nil {
		return fmt.Errorf("set last tenant: %w", err)
	}
	return nil
}

const memberSelect = `
	SELECT u.id, u.email, u.name, m.role, m.team_id, coalesce(tm.name, ''), m.manager_id,
	       coalesce(u.time_zone, ''), m.away, m.active,
	       (u.password_hash IS NULL) AS invited, u.last_login_at, m.created_at
	FROM memberships m
	JOIN users u ON u.id = m.user_id
	LEFT JOIN teams tm ON tm.tenant_id = m.tenant_id AND tm.id = m.team_id`

func scanMember(r pgx.Row) (auth.Member, error) {
	var m auth.Member
	var role string
	err := r.Scan(&m.ID, &m.Email, &m.Name, &role, &m.TeamID, &m.TeamName, &m.ManagerID,
		&m.TimeZone, &m.Away, &m.Active, &m.Invited, &m.LastLoginAt, &m.CreatedAt)
	m.Role = tenant.Role(role)
	return m, err
}

// FindMembers returns every member of tenant tid by name.
func (s *Store) FindMembers(ctx context.Context, tid tenant.ID) ([]auth.Member, error) {
	var out []auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, memberSelect+` WHERE m.tenant_id = $1 ORDER BY u.name, u.email`, tid)
		if err != nil {
			return fmt.Errorf("query members: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Member, error) { return scanMember(r) })
		return err
	})
	return out, err
}

// FindMember returns user uid as a member of tenant tid.
func (s *Store) FindMember(ctx context.Context, tid tenant.ID, uid uuid.UUID) (auth.Member, error) {
	var m auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		m, err = findMember(ctx, tx, tid, uid)
		return err
	})
	return m, err
}

func findMember(ctx context.Context, tx pgx.Tx, tid tenant.ID, uid uuid.UUID) (auth.Member, error) {
	m, err := scanMember(tx.QueryRow(ctx, memberSelect+` WHERE m.tenant_id = $1 AND m.user_id = $2`, tid, uid))
	if err != nil {
		return auth.Member{}, fmt.Errorf("find member: %w", mapErr(err))
	}
	return m, nil
}

// Invite is an invitation to create: its token hash (the plain token is in
// the link only) and, when SMTP is configured, the e-mail to send with it.
type Invite struct {
	TokenHash []byte
	Email     *mail.Message
}

// InviteUser adds a user to tenant tid (creating the global user when the
// email is new) with an invitation link, and enqueues the invitation e-mail
// in the same transaction.
func (s *Store) InviteUser(ctx context.Context, tid tenant.ID, actor auth.Actor, in auth.InviteInput, inv Invite, now time.Time) (auth.Member, error) {
	var m auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		uid, err := ensureUser(ctx, tx, in.Email, in.Name, "", now)
		if err != nil {
			return err
		}
		if in.TimeZone != "" {
			if _, err := tx.Exec(ctx, `UPDATE users SET time_zone = coalesce(time_zone, $2) WHERE id = $1`, uid, in.TimeZone); err != nil {
				return fmt.Errorf("set time zone: %w", err)
			}
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO memberships (tenant_id, user_id, role, team_id, manager_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, tid, uid, string(in.Role), in.TeamID, in.ManagerID, now)
		if err != nil {
			return memberWriteError(err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO invitations (tenant_id, id, user_id, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tid, uuid.New(), uid, inv.TokenHash, nullUUID(actor.ID), now, now.Add(auth.InvitationTTL)); err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		if inv.Email != nil {
			if _, err := s.jobs.InsertTx(ctx, tx, mail.SendArgs{TenantID: tid.String(), Message: *inv.Email}, nil); err != nil {
				return fmt.Errorf("enqueue invitation e-mail: %w", err)
			}
		}
		if m, err = findMember(ctx, tx, tid, uid); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "user.invited", "user", uid.String(), nil,
			map[string]any{"email": in.Email, "role": in.Role, "team_id": in.TeamID})
	})
	return m, err
}

// memberWriteError turns constraint failures of a membership write into
// messages on the fields that caused them.
func memberWriteError(err error) error {
	mapped := mapErr(err)
	switch {
	case errors.Is(mapped, ErrConflict):
		return validator.Errors{"email": "is already a member of this tenant"}
	case errors.Is(mapped, ErrInvalidReference):
		switch constraintOf(err) {
		case "memberships_tenant_id_team_id_fkey":
			return validator.Errors{"team_id": "is not a team of this tenant"}
		case "memberships_tenant_id_manager_id_fkey":
			return validator.Errors{"manager_id": "is not a member of this tenant"}
		}
	}
	return fmt.Errorf("write membership: %w", mapped)
}

// UpdateMember changes role, team, manager, away or active of user uid in
// tenant tid, recording role and team changes in the audit log.
func (s *Store) UpdateMember(ctx context.Context, tid tenant.ID, actor auth.Actor, uid uuid.UUID, upd auth.MemberUpdate, now time.Time) (auth.Member, error) {
	var after auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		before, err := findMember(ctx, tx, tid, uid)
		if err != nil {
			return err
		}
		role := string(before.Role)
		if upd.Role != nil {
			role = string(*upd.Role)
		}
		team, manager := before.TeamID, before.ManagerID
		if upd.TeamID != nil {
			team = upd.TeamID
		}
		if upd.ClearTeam {
			team = nil
		}
		if upd.ManagerID != nil {
			manager = upd.ManagerID
		}
		if upd.ClearManager {
			manager = nil
		}
		away, active := before.Away, before.Active
		if upd.Away != nil {
			away = *upd.Away
		}
		if upd.Active != nil {
			active = *upd.Active
		}
		if before.Role == tenant.RoleAdmin && (role != string(tenant.RoleAdmin) || !active) {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'admin' AND active`, tid).Scan(&admins); err != nil {
				return fmt.Errorf("count admins: %w", err)
			}
			if admins <= 1 {
				return validator.Errors{"role": "the last active admin cannot be removed: make someone else admin first"}
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE memberships SET role = $3, team_id = $4, manager_id = $5, away = $6, active = $7
			WHERE tenant_id = $1 AND user_id = $2`, tid, uid, role, team, manager, away, active); err != nil {
			return memberWriteError(err)
		}
		if upd.Name != nil || upd.TimeZone != nil {
			// Name and zone belong to the global user; an admin may correct them.
			if _, err := tx.Exec(ctx, `UPDATE users SET name = coalesce($2, name), time_zone = coalesce(nullif($3, ''), time_zone) WHERE id = $1`,
				uid, upd.Name, upd.TimeZone); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		if after, err = findMember(ctx, tx, tid, uid); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "user.updated", "user", uid.String(), memberAudit(before), memberAudit(after))
	})
	return after, err
}

func memberAudit(m auth.Member) map[string]any {
	return map[string]any{"role": m.Role, "team_id": m.TeamID, "manager_id": m.ManagerID, "away": m.Away, "active": m.Active}
}

// FindInvitation returns the invitation of tenant tid whose token hashes to hash.
func (s *Store) FindInvitation(ctx context.Context, tid tenant.ID, hash []byte) (auth.Invitation, error) {
	var inv auth.Invitation
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		inv, err = findInvitation(ctx, tx, tid, hash, false)
		return err
	})
	return inv, err
}

func findInvitation(ctx context.Context, tx pgx.Tx, tid tenant.ID, hash []byte, lock bool) (auth.Invitation, error) {
	q := `
		SELECT i.id, i.tenant_id, t.name, i.user_id, u.email, u.name, u.password_hash IS NOT NULL, i.expires_at, i.used_at
		FROM invitations i
		JOIN tenants t ON t.id = i.tenant_id
		JOIN users u ON u.id = i.user_id
		WHERE i.tenant_id = $1 AND i.token_hash = $2`
	if lock {
		q += ` FOR UPDATE OF i`
	}
	var inv auth.Invitation
	err := tx.QueryRow(ctx, q, tid, hash).Scan(&inv.ID, &inv.TenantID, &inv.TenantName, &inv.UserID, &inv.Email,
		&inv.Name, &inv.HasAccount, &inv.ExpiresAt, &inv.UsedAt)
	if err != nil {
		return auth.Invitation{}, fmt.Errorf("find invitation: %w", mapErr(err))
	}
	return inv, nil
}

// AcceptInvitation uses the invitation once: it sets the user's password
// (when they have none yet) and marks the link used. A used or expired link
// returns auth.ErrInvitationUsed or auth.ErrInvitationExpired.
func (s *Store) AcceptInvitation(ctx context.Context, tid tenant.ID, hash []byte, passwordHash string, now time.Time) (auth.Invitation, error) {
	var inv auth.Invitation
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		// The row lock makes two simultaneous uses of one link wait for each
		// other; the second then sees used_at and fails.
		if inv, err = findInvitation(ctx, tx, tid, hash, true); err != nil {
			return err
		}
		if err := inv.Usable(now); err != nil {
			return err
		}
		if !inv.HasAccount {
			if passwordHash == "" {
				return validator.Errors{"password": "must be set"}
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash IS NULL`, inv.UserID, passwordHash); err != nil {
				return fmt.Errorf("set password: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE invitations SET used_at = $3 WHERE tenant_id = $1 AND id = $2`, tid, inv.ID, now); err != nil {
			return fmt.Errorf("mark invitation used: %w", err)
		}
		inv.UsedAt = &now
		return insertAudit(ctx, tx, tid, auth.Actor{Type: auth.ActorUser, ID: inv.UserID, Name: inv.Name}, now,
			"user.joined", "user", inv.UserID.String(), nil, map[string]any{"email": inv.Email})
	})
	return inv, err
}

// FindMembersPage returns up to limit members of tenant tid with ids after
// after (uuid.Nil for the first page), by id: the API's stable paging order.
func (s *Store) FindMembersPage(ctx context.Context, tid tenant.ID, after uuid.UUID, limit int) ([]auth.Member, error) {
	var out []auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, memberSelect+` WHERE m.tenant_id = $1 AND ($2::uuid IS NULL OR m.user_id > $2)
			ORDER BY m.user_id LIMIT $3`, tid, nullUUID(after), limit)
		if err != nil {
			return fmt.Errorf("query members: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Member, error) { return scanMember(r) })
		return err
	})
	return out, err
}

// CreateMember adds a user with a password to tenant tid directly, without
// an invitation: for seeds and the command line, where the operator sets the
// password. An existing user keeps their password.
func (s *Store) CreateMember(ctx context.Context, tid tenant.ID, actor auth.Actor, in auth.InviteInput, passwordHash string, now time.Time) (auth.Member, error) {
	var m auth.Member
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		uid, err := ensureUser(ctx, tx, in.Email, in.Name, passwordHash, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO memberships (tenant_id, user_id, role, team_id, manager_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, tid, uid, string(in.Role), in.TeamID, in.ManagerID, now); err != nil {
			return memberWriteError(err)
		}
		if m, err = findMember(ctx, tx, tid, uid); err != nil {
			return err
		}
		return insertAudit(ctx, tx, tid, actor, now, "user.created", "user", uid.String(), nil,
			map[string]any{"email": in.Email, "role": in.Role, "team_id": in.TeamID})
	})
	return m, err
}
