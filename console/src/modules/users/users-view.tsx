'use client';
import { useState, type FormEvent } from 'react';
import type { Role } from '@/api/types';
import { usePolled } from '@/api/use-polled';
import { createUser, deleteUser, listUsers, updateUser } from '@/api/users';
import { formatTime } from '@/format/time';
import { useSession } from '@/modules/session/session-provider';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';

const ROLES: Role[] = ['admin', 'operator', 'viewer'];

/** Console users and their roles (admins only). */
export function UsersView() {
  const { user: me } = useSession();
  const state = usePolled(listUsers, null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<unknown>();

  async function act(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
      await state.refresh();
    } catch (e) {
      setError(e);
    }
  }

  async function create(event: FormEvent) {
    event.preventDefault();
    await act(async () => {
      await createUser(username.trim(), password, role);
      setUsername('');
      setPassword('');
    });
  }

  return (
    <>
      <PageHeader title="Users" subtitle="Admins manage everything, operators change rules and push, viewers only look" />
      <form className="card card-body" style={{ display: 'flex', gap: 10, flexWrap: 'wrap', alignItems: 'end', marginBottom: 16 }} onSubmit={create} aria-label="Add user">
        <label className="field" style={{ flex: '1 1 160px' }}><span>Username</span>
          <input className="input" value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" /></label>
        <label className="field" style={{ flex: '1 1 160px' }}><span>Password</span>
          <input className="input" type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={8} autoComplete="new-password" /></label>
        <label className="field"><span>Role</span>
          <select className="select" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select></label>
        <button type="submit" className="btn btn-primary">Add user</button>
      </form>
      <ErrorNotice error={error} />
      <div className="card" style={{ marginTop: 12 }}>
        {!state.data ? (state.error !== undefined ? <ErrorNotice error={state.error} retry={() => void state.refresh()} /> : <Loading />) : (
          <div className="table-wrap">
            <table className="table" aria-label="Users">
              <thead><tr><th>Username</th><th>Role</th><th className="hide-sm">Created</th><th /></tr></thead>
              <tbody>
                {state.data.map((u) => (
                  <tr key={u.id}>
                    <td><strong>{u.username}</strong>{u.username === me.username && <span className="muted"> (you)</span>}</td>
                    <td>
                      <select className="select" style={{ width: 'auto' }} aria-label={`Role of ${u.username}`} value={u.role}
                        onChange={(e) => void act(() => updateUser(u.id, { role: e.target.value as Role }))}>
                        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                      </select>
                    </td>
                    <td className="hide-sm nowrap">{formatTime(u.createdAt)}</td>
                    <td>{u.username !== me.username && (
                      <button type="button" className="btn btn-small btn-danger" onClick={() => void act(() => deleteUser(u.id))}>Delete</button>
                    )}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}
