// The lines of a conversation, read from an interaction's events (the agent desk, the preview).
import type { Schemas } from "./api";

/** A file a customer sent (`media` of a `message_in` event; older events only count them). */
export type Medium = { content_type: string; url: string; size: number };

export type Line = { key: string; from: "customer" | "us"; text: string; choices?: string[]; media?: Medium[] };

type Event = { type?: string; text?: unknown; media?: Medium[]; message?: { text?: string; choices?: string[] }; action?: string; branch?: string };

function eventsOf(i: Schemas["InteractionDto"]): Event[] {
  return (i.events as unknown as { event: Event }[]).map((e) => e.event ?? {});
}

export function linesOf(i: Schemas["InteractionDto"]): Line[] {
  const out: Line[] = [];
  eventsOf(i).forEach((ev, n) => {
    if (ev.type === "message_in") out.push({ key: `${n}`, from: "customer", text: String(ev.text ?? ""), media: ev.media });
    if (ev.type === "message_out") out.push({ key: `${n}`, from: "us", text: ev.message?.text ?? "", choices: ev.message?.choices });
  });
  return out;
}

/** The actions an interaction went through, and the branches it took (`<action>:<branch>`). */
export function pathOf(i: Schemas["InteractionDto"]): { actions: Set<string>; branches: Set<string> } {
  const actions = new Set<string>();
  const branches = new Set<string>();
  for (const ev of eventsOf(i)) {
    if (ev.action && (ev.type === "branch" || ev.type === "passage" || ev.type === "effect_requested")) actions.add(ev.action);
    if (ev.type === "branch" && ev.action && ev.branch) branches.add(`${ev.action}:${ev.branch}`);
  }
  return { actions, branches };
}
