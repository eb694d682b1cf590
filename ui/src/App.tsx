import { lazy, Suspense, useEffect, useState } from "react";
import { api, rememberCsrf, type Session } from "./api";
import { Link, navigate, usePath } from "./route";
import { Login } from "./pages/Login";
import { Routings } from "./pages/Routings";
import { RoutingPage } from "./pages/Routing";
import { Desk } from "./pages/Desk";
import { EntryPoints } from "./pages/EntryPoints";
import { InteractionPage, Interactions } from "./pages/Interactions";
import { Access } from "./pages/Access";
import { allows } from "./api";

// the canvas and the schema-made forms are the heavy parts: loaded when first opened
const EditorPage = lazy(() => import("./pages/Editor").then((m) => ({ default: m.EditorPage })));
const ObjectKinds = lazy(() => import("./pages/Objects").then((m) => ({ default: m.ObjectKinds })));
const Objects = lazy(() => import("./pages/Objects").then((m) => ({ default: m.Objects })));

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const path = usePath();
  useEffect(() => {
    api.GET("/auth/session").then(({ data }) => {
      if (data) rememberCsrf(data.csrf_token);
      setSession(data ?? null);
    }, () => setSession(null));
  }, []);
  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null)
    return (
      <Login
        onSignedIn={(s) => {
          rememberCsrf(s.csrf_token);
          setSession(s);
        }}
      />
    );
  const signOut = async () => {
    await api.POST("/auth/logout");
    rememberCsrf("");
    setSession(null);
    navigate("/");
  };
  const editor = path.match(/^\/routings\/(messaging|email)\/([0-9a-f-]{36})\/versions\/([0-9a-f-]{36})$/);
  const routing = path.match(/^\/routings\/(messaging|email)\/([0-9a-f-]{36})$/);
  const family = path.match(/^\/routings\/(messaging|email)$/);
  let page;
  const agent = allows(session, "agent:use");
  const maker = session.permissions.some((p) => p.startsWith("routings."));
  const objects = path.match(/^\/objects\/([a-z_]+)$/);
  if (path === "/desk" || (agent && !maker)) page = <Desk />;
  else if (path === "/interactions") page = <Interactions />;
  else if (path === "/access") page = <Access session={session} />;
  else if (path.match(/^\/interactions\/[0-9a-f-]{36}$/)) page = <InteractionPage id={path.split("/")[2]} />;
  else if (path === "/entry-points") page = <EntryPoints session={session} />;
  else if (path === "/objects") page = <ObjectKinds session={session} />;
  else if (objects) page = <Objects session={session} kind={objects[1]} />;
  else if (editor) page = <EditorPage session={session} family={editor[1] as "messaging" | "email"} routingId={editor[2]} versionId={editor[3]} />;
  else if (routing) page = <RoutingPage session={session} id={routing[2]} />;
  else if (family) page = <Routings session={session} family={family[1] as "messaging" | "email"} />;
  else page = <Routings session={session} family="messaging" />;
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">Switchyard</span>
        <nav aria-label="Main">
          {maker && <Link to="/routings/messaging">Messaging smart routings</Link>}
          {maker && <Link to="/routings/email">Email smart routings</Link>}
          {allows(session, "entry_points:read") && <Link to="/entry-points">Entry points</Link>}
          {maker && <Link to="/objects">Business objects</Link>}
          {allows(session, "interactions:read") && <Link to="/interactions">Interactions</Link>}
          {(allows(session, "accounts:read") || allows(session, "audit:read")) && <Link to="/access">Access</Link>}
          {agent && <Link to="/desk">Agent desk</Link>}
        </nav>
        <span className="who">
          {session.account.name} <span className="role">({session.account.role})</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  );
}
