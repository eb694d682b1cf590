// The agent desk in Debian's Chromium, with a web-chat customer in a second browser: the agent
// signs in and goes online, the customer writes, the offer shows (time left, the tab's title),
// the agent accepts, reads and answers, the customer's answer arrives live, the agent transfers
// it to another group.
// Then an email to the mailbox (spoken to the server's SMTP listener): shown as an email, with
// its headers and attachment, answered in the thread.
// Usage: node desk.mjs BASE_URL ENTRY_POINT AGENT_EMAIL AGENT_PASSWORD SCREENSHOT_DIR SMTP_HOST:PORT
import net from "node:net";
import { readFileSync } from "node:fs";
import { accessible, check, launch } from "./common.mjs";

const [base, reference, email, password, shots, smtp] = process.argv.slice(2);

/** One message to an SMTP server, each command answered before the next. */
function smtpSend(address, from, to, raw) {
  const [host, port] = address.split(":");
  const lines = [`EHLO desk.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, "DATA", raw.replace(/\n/g, "\r\n") + "\r\n.", "QUIT"];
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host);
    let buffer = "";
    let step = -1;
    const codes = [];
    socket.on("data", (d) => {
      buffer += d.toString();
      // an answer ends with a line whose code is followed by a space
      while (/^\d{3} .*\r\n/m.test(buffer)) {
        const end = buffer.search(/^\d{3} .*\r\n/m);
        const line = buffer.slice(end, buffer.indexOf("\r\n", end));
        buffer = buffer.slice(buffer.indexOf("\r\n", end) + 2);
        codes.push(line.slice(0, 3));
        step++;
        if (step < lines.length) socket.write(lines[step] + "\r\n");
        else socket.end();
      }
    });
    socket.on("end", () => (codes.includes("250") ? resolve(codes) : reject(new Error(codes.join(",")))));
    socket.on("error", reject);
  });
}
const browser = await launch();

// the page's CSP forbids inline scripts: the context lets the injected axe-core run
const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
// the chimes the desk plays are counted (headless Chromium plays them to no speaker)
await agentContext.addInitScript(() => {
  window.chimes = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.chimes += 1;
    return start.apply(this, args);
  };
});
const desk = await agentContext.newPage();
desk.setDefaultTimeout(15000);
desk.on("pageerror", (e) => console.error("page error:", e.message));
const customer = await (await browser.newContext()).newPage();
customer.setDefaultTimeout(15000);
try {
  await desk.goto(base + "/");
  await desk.getByLabel("Email").fill(email);
  await desk.getByLabel("Password").fill(password);
  await desk.getByRole("button", { name: "Sign in" }).click();
  await desk.getByRole("heading", { name: "Agent desk" }).waitFor();
  await desk.getByRole("status").filter({ hasText: "Live" }).waitFor();
  await desk.getByLabel("Presence").selectOption("online");
  await desk.getByLabel("Sound on new offers").check();
  await accessible(desk, "agent desk");

  // a customer writes on the web chat
  await customer.goto(`${base}/chat/${reference}`);
  await customer.waitForSelector("#status:text('online')");
  await customer.fill("#text", "Bonjour, ma commande n'est pas arrivée");
  await customer.click("#send");

  // the offer: its time left, and the tab's title says so
  const offer = desk.locator(".offer");
  await offer.waitFor();
  await offer.getByText("s left").waitFor();
  check((await desk.title()).startsWith("(1)"), `the title shows the offer (${await desk.title()})`);
  check((await desk.evaluate(() => window.chimes)) > 0, "the offer chimed");
  check(!(await offer.getByRole("button", { name: "Accept" }).evaluate((b) => b === document.activeElement)), "the offer took no focus");
  await offer.getByRole("button", { name: "Accept" }).click();
  const chat = desk.getByRole("region", { name: /^Conversation with/ });
  await chat.getByText("Bonjour, ma commande n'est pas arrivée").waitFor();
  check(!(await desk.title()).startsWith("("), "no offer left in the title");
  // the customer's card: met for the first time, nobody owns them
  const card = chat.getByRole("region", { name: "Customer" });
  await card.getByText("No previous interaction").waitFor();
  await card.getByText("No owner").waitFor();

  // the agent answers; the customer reads it and answers back, live
  await chat.getByLabel("Answer").fill("Bonjour, je regarde tout de suite.");
  await chat.getByRole("button", { name: "Send" }).click();
  await customer.waitForSelector(".msg.out:has-text('Bonjour, je regarde tout de suite.')");
  await customer.fill("#text", "Merci !");
  await customer.click("#send");
  await chat.getByText("Merci !").waitFor();
  // a photo from the customer (Chromium's own icon, installed with it) is shown in the chat
  const photo = readFileSync(process.env.CHROMIUM_ICON || "/usr/share/icons/hicolor/48x48/apps/chromium.png");
  await customer.setInputFiles("#file", { name: "photo.png", mimeType: "image/png", buffer: photo });
  await chat.getByRole("img", { name: /An image from the customer/ }).waitFor();
  await desk.waitForFunction(() => [...document.querySelectorAll("img.medium")].some((i) => i.complete && i.naturalWidth > 0));
  await accessible(desk, "agent desk with a conversation");
  await desk.screenshot({ path: `${shots}/desk.png` });

  // transferred to a colleague (the groups and the colleagues are offered): it leaves the desk
  await chat.getByLabel("Transfer to").selectOption({ label: "Bob (online)" });
  await chat.getByRole("button", { name: "Transfer" }).click();
  await desk.getByText("Accept an offer or choose a conversation.").waitFor();
  check((await desk.locator(".desk-list li").count()) === 0, "no conversation left");
  // an email: shown as an email, answered by email
  const mail = [
    "From: Amélie Dupré <amelie@example.com>",
    "To: support@shop.test",
    "Subject: Facture erronée",
    "Message-ID: <desk-1@example.com>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Bonjour, la facture est fausse.",
    "--b1",
    'Content-Type: application/pdf; name="facture.pdf"',
    'Content-Disposition: attachment; filename="facture.pdf"',
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("%PDF-1.4 facture").toString("base64"),
    "--b1--",
  ].join("\n");
  const codes = await smtpSend(smtp, "amelie@example.com", "support@shop.test", mail);
  check(codes.filter((c) => c === "250").length >= 3, `the listener took the email (${codes})`);
  await offer.getByRole("button", { name: "Accept" }).click();
  const header = desk.getByRole("definition").filter({ hasText: "Facture erronée" });
  await header.waitFor();
  await desk.getByRole("link", { name: /facture\.pdf/ }).waitFor();
  await chat.getByText("Bonjour, la facture est fausse.").waitFor();
  await card.getByText("Amélie Dupré").waitFor();
  await chat.getByLabel("Answer (by email, in the thread)").fill("Bonjour, voici la facture corrigée.");
  await chat.getByRole("button", { name: "Send" }).click();
  await chat.getByText("Bonjour, voici la facture corrigée.").waitFor();
  await accessible(desk, "agent desk with an email");
  await desk.screenshot({ path: `${shots}/desk-email.png` });
  await chat.getByRole("button", { name: "Close" }).click();
  await desk.getByText("Accept an offer or choose a conversation.").waitFor();
  console.log("desk test passed");
} catch (e) {
  await desk.screenshot({ path: `${shots}/desk-failed.png`, fullPage: true });
  console.error("desk text at failure:\n" + (await desk.innerText("body").catch(() => "")));
  throw e;
} finally {
  await browser.close();
}
