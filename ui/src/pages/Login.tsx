import { Alert } from "../alert";
import { useState } from "react";
import { api, problemText, type Session } from "../api";

export function Login(props: { onSignedIn: (s: Session) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main className="login">
      <form
        aria-labelledby="login-title"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          const { data, error } = await api.POST("/auth/login", { body: { email, password } }).catch(() => ({ data: undefined, error: undefined }));
          setBusy(false);
          if (data) props.onSignedIn(data);
          else setError(problemText(error));
        }}
      >
        <h1 id="login-title">Sign in to Switchyard</h1>
        <label>
          Email
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <Alert text={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
