// The Maker in Debian's Chromium: an administrator signs in, creates a smart routing and a
// version, is told a blank version cannot be scheduled, schedules it once it holds an action
// and sees the card's alert and the production banner, cancels it, puts it in production
// after the confirmation and duplicates it; a designer sees no publish button and the API
// refuses them anyway. Each page is checked with axe-core (no serious or
// critical violation) at 1280×800 and at tablet width.
// Usage: node maker.mjs BASE_URL ADMIN_EMAIL ADMIN_PASSWORD DESIGNER_EMAIL DESIGNER_PASSWORD SCREENSHOT_DIR
import { accessible, check, launch } from "./common.mjs";

const [base, adminEmail, adminPassword, designerEmail, designerPassword, shots] = process.argv.slice(2);
const browser = await launch();



async function signIn(page, email, password) {
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Messaging smart routings" }).waitFor();
}

// the page's CSP forbids inline scripts: the context lets the injected axe-core run
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
const page = await context.newPage();
page.setDefaultTimeout(15000);
try {
  // signing in: a wrong password is told, the right one opens the Maker
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Sign in to Switchyard" }).waitFor();
  await accessible(page, "sign-in page");
  await page.getByLabel("Email").fill(adminEmail);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "wrong email or password" }).waitFor();
  await signIn(page, adminEmail, adminPassword);

  // a new smart routing: its page says how to begin
  await page.getByRole("button", { name: "New smart routing" }).click();
  await page.getByLabel("Name").fill("Support chat");
  await page.getByLabel("Reference").fill("SUPPORT_CHAT");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "Support chat" }).waitFor();
  await page.getByText("Create a version of this smart routing to manage your incoming interactions.").waitFor();

  // the list finds it by reference, and by type
  await page.getByRole("link", { name: "Messaging smart routings" }).first().click();
  await page.getByLabel("Search").fill("support_ch");
  await page.getByRole("link", { name: "Support chat" }).waitFor();
  await page.getByLabel("Type").selectOption("interaction_end");
  await page.getByText("No smart routing matches.").waitFor();
  await page.getByLabel("Type").selectOption("");
  await accessible(page, "routings list");
  await page.getByRole("link", { name: "Support chat" }).click();

  // a version from zero
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByLabel("Name").fill("First version");
  await page.getByRole("button", { name: "Create the version" }).click();
  const card = page.getByRole("article").filter({ hasText: "First version" });
  await card.waitFor();

  // a blank version cannot be scheduled: the server's reason is shown on the card
  const tomorrow = new Date(Date.now() + 86400000);
  const pad = (n) => String(n).padStart(2, "0");
  const local = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}T09:30`;
  await card.getByRole("button", { name: "Schedule the production" }).click();
  await card.getByLabel("Date and time of the automatic production").fill(local);
  await card.getByRole("button", { name: "Save" }).click();
  await card.getByRole("alert").filter({ hasText: "nothing but Start" }).waitFor();
  await card.getByRole("button", { name: "Cancel" }).click();

  // the tree editor: an action after Start, its parameters, another inserted between the two
  await card.getByRole("link", { name: "Edit" }).click();
  await page.getByRole("heading", { name: /First version/ }).waitFor();
  await page.locator(".react-flow__node").filter({ hasText: "Start" }).click();
  const after = page.getByRole("region", { name: "Add an action after this one" });
  await after.getByLabel("Action type").selectOption("simple_message");
  await after.getByRole("textbox", { name: /^message/ }).fill("Hello, how can we help?");
  await after.getByRole("button", { name: "Add the action" }).click();
  await page.getByRole("heading", { name: "Simple message" }).waitFor();
  await page.locator(".react-flow__node").filter({ hasText: "Simple message" }).waitFor();
  // its parameters change in the panel
  await page.locator(".side").getByRole("textbox", { name: /^message/ }).fill("Hello, how may we help?");
  await page.getByRole("button", { name: "Save the parameters" }).click();
  // the link, from the keyboard: focused, then Enter selects it
  await page.locator(".react-flow__edge").first().focus();
  await page.keyboard.press("Enter");
  const between = page.getByRole("region", { name: "Add an action between these 2 actions" });
  await between.getByLabel("Action type").selectOption("simple_message");
  // the message completes its {{ }} placeholder from the variables
  const welcome = between.getByRole("textbox", { name: /^message/ });
  await welcome.fill("Welcome! You write on {{ chan");
  await between.getByRole("option", { name: /^channel/ }).waitFor();
  await welcome.press("Enter");
  check((await welcome.inputValue()) === "Welcome! You write on {{ channel }}", `the placeholder completed (${await welcome.inputValue()})`);
  await between.getByRole("button", { name: "Insert the action" }).click();
  await page.getByRole("heading", { name: "Simple message" }).waitFor();
  // a copy of an existing action, after the last one
  await page.locator(".react-flow__node").filter({ hasText: "1 warning" }).click();
  await after.getByLabel("A copy of an existing action").check();
  await after.getByLabel("The action to copy").selectOption({ label: "Simple message — Hello, how may we help?" });
  await after.getByRole("button", { name: "Add the action" }).click();
  await page.locator(".react-flow__node").nth(3).waitFor();
  check((await page.locator(".react-flow__node").count()) === 4, "four actions on the canvas");
  check((await page.locator(".react-flow__edge").count()) === 3, "three links on the canvas");
  await page.getByRole("button", { name: /Error:/ }).count().then((n) => check(n === 0, "no error left in the diagnostics"));
  // an action moved from the keyboard (selected, then arrow keys): its new place is saved
  const versionId = new URL(page.url()).pathname.split("/").pop();
  const startX = () =>
    page.evaluate(async (id) => (await (await fetch(`/api/v1/versions/${id}`)).json()).tree.actions[0].position.x, versionId);
  const was = await startX();
  await page.locator(".react-flow__node").filter({ hasText: "Start" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Start", exact: true }).waitFor();
  for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowRight");
  let now = was;
  for (let i = 0; i < 50 && now === was; i++) {
    await page.waitForTimeout(100);
    now = await startX();
  }
  check(now === was + 20, `the keyboard move was saved (${was} → ${now})`);
  // the preview beside the tree: the conversation, and the path drawn on the tree
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByRole("button", { name: "Start a conversation" }).click();
  const conversation = page.getByRole("list", { name: "Preview conversation" });
  await conversation.getByText("Welcome! You write on preview").waitFor();
  await conversation.getByText("Hello, how may we help?").nth(1).waitFor();
  await page.locator(".node.on-path").nth(3).waitFor();
  check((await page.locator(".react-flow__edge.on-path").count()) === 3, "the three links on the path");
  await accessible(page, "tree editor");
  await page.screenshot({ path: `${shots}/maker-editor.png` });
  await page.getByRole("button", { name: "Close the preview" }).click();
  await page.locator(".node.on-path").first().waitFor({ state: "detached" });
  // the History tab: the version's executions, one chosen drawn on the tree
  await page.getByRole("button", { name: "History" }).click();
  const runs = page.getByRole("region", { name: "History" });
  await runs.getByRole("button", { name: /preview · closed/ }).first().click();
  await page.locator(".node.on-path").nth(3).waitFor();
  await accessible(page, "the History tab");
  await page.getByRole("button", { name: "History" }).click();
  await page.locator(".node.on-path").first().waitFor({ state: "detached" });
  await page.getByRole("link", { name: "Back to the smart routing" }).click();
  await card.waitFor();

  // scheduled for tomorrow 09:30: the alert on the card and the banner in production
  await card.getByRole("button", { name: "Schedule the production" }).click();
  await card.getByLabel("Date and time of the automatic production").fill(local);
  await card.getByRole("button", { name: "Save" }).click();
  await card.getByText("This version has been put in scheduled production for").waitFor();
  await page.getByRole("status").filter({ hasText: "Automatic production of version First version on" }).waitFor();
  await accessible(page, "routing page");
  await page.screenshot({ path: `${shots}/maker-routing.png`, fullPage: true });
  await card.getByRole("button", { name: "Remove the planned production from the schedule" }).click();
  await card.getByRole("button", { name: "Schedule the production" }).waitFor();
  check((await page.getByRole("status").count()) === 0, "the banner went with the planned production");

  // production asks first, then the card is in the production section, read-only
  await card.getByRole("button", { name: "Put in production" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("The version will become read-only").waitFor();
  await dialog.getByRole("button", { name: "Put in production" }).click();
  const production = page.getByRole("region", { name: "In production" });
  await production.getByRole("article").filter({ hasText: "First version" }).waitFor();
  check((await production.getByRole("button", { name: "Delete" }).count()) === 0, "a production version cannot be deleted");

  // tablet width: duplicating the production version makes a development one
  await page.setViewportSize({ width: 820, height: 1180 });
  await production.getByRole("button", { name: "Duplicate" }).click();
  await page.getByRole("region", { name: "In development" }).getByRole("article").waitFor();
  await accessible(page, "routing page at tablet width");
  await page.setViewportSize({ width: 1280, height: 800 });

  // the copy compared with the production version: the same, then one message reworded
  await page.getByRole("region", { name: "In development" }).getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Compare with").selectOption({ label: "First version (v1, production)" });
  await page.getByText("0 added · 0 removed · 0 changed · 0 moved").waitFor();
  await page.locator(".react-flow__node").filter({ hasText: "Simple message" }).first().click();
  await page.locator(".side").getByRole("textbox", { name: /^message/ }).fill("Good morning!");
  await page.getByRole("button", { name: "Save the parameters" }).click();
  await page.getByText("0 added · 0 removed · 1 changed · 0 moved").waitFor();
  await page.locator('.node[data-change="changed"]').waitFor();
  await page.getByText("changed: Simple message (params.message)").waitFor();
  await page.screenshot({ path: `${shots}/maker-diff.png` });
  // undone, the copy is the production version again; redone (from the keyboard), reworded
  await page.getByRole("button", { name: "Undo" }).click();
  await page.getByText("0 added · 0 removed · 0 changed · 0 moved").waitFor();
  await page.keyboard.press("Control+Shift+Z");
  await page.getByText("0 added · 0 removed · 1 changed · 0 moved").waitFor();
  check(await page.getByRole("button", { name: "Redo" }).isDisabled(), "nothing left to redo");

  // a second browser on the same version: its edit lands first, so ours is refused as a
  // conflict (nothing overwritten) until we load the latest
  const editorUrl = page.url();
  const other = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const second = await other.newPage();
  second.setDefaultTimeout(15000);
  await signIn(second, adminEmail, adminPassword);
  await second.goto(editorUrl);
  await second.locator(".react-flow__node").filter({ hasText: "Simple message" }).first().click();
  await second.locator(".side").getByRole("textbox", { name: /^message/ }).fill("From the second browser");
  await second.getByRole("button", { name: "Save the parameters" }).click();
  await second.getByText("0 errors").waitFor();
  await page.locator(".side").getByRole("textbox", { name: /^message/ }).fill("From the first browser");
  await page.getByRole("button", { name: "Save the parameters" }).click();
  await page.getByRole("alert").filter({ hasText: "changed elsewhere" }).waitFor();
  await page.getByRole("button", { name: "Load the latest" }).click();
  await page.locator(".react-flow__node").filter({ hasText: "Simple message" }).first().click();
  const kept = await page.locator(".side").getByRole("textbox", { name: /^message/ }).inputValue();
  check(kept === "From the second browser", `the second browser's edit was kept (${kept})`);
  await other.close();
  await page.getByRole("link", { name: "Back to the smart routing" }).click();

  // a web chat entry point on the routing in production, and a conversation with it
  await page.getByRole("link", { name: "Entry points" }).click();
  await page.getByRole("button", { name: "New entry point" }).click();
  const ep = page.getByRole("form", { name: "New entry point" });
  await ep.getByLabel("Reference").fill("site");
  await ep.getByLabel("Name", { exact: true }).fill("Our site");
  await ep.getByLabel("Start routing").selectOption({ label: "Support chat" });
  await ep.getByRole("button", { name: "Save" }).click();
  await page.getByRole("link", { name: "/chat/site" }).waitFor();
  await accessible(page, "entry points");
  // a mailbox with its aliases, kept as given
  await page.getByRole("button", { name: "New entry point" }).click();
  const mailbox = page.getByRole("form", { name: "New entry point" });
  await mailbox.getByLabel("Channel").selectOption("email");
  await mailbox.getByLabel("Reference").fill("support");
  await mailbox.getByLabel("Name", { exact: true }).fill("Support mailbox");
  await mailbox.getByLabel("Mailbox address").fill("support@shop.test");
  await mailbox.getByLabel(/^Aliases/).fill("help@shop.test, sales@shop.test");
  await mailbox.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "support@shop.test" }).waitFor();
  await page.getByRole("row").filter({ hasText: "Support mailbox" }).getByRole("button", { name: "Edit" }).click();
  const aliases = await page.getByRole("form", { name: "Edit Support mailbox" }).getByLabel(/^Aliases/).inputValue();
  check(aliases === "help@shop.test, sales@shop.test", `the aliases were kept (${aliases})`);
  await page.getByRole("form", { name: "Edit Support mailbox" }).getByRole("button", { name: "Cancel" }).click();
  const visitor = await context.newPage();
  await visitor.goto(`${base}/chat/site`);
  await visitor.waitForSelector("#status:text('online')");
  await visitor.fill("#text", "hi");
  await visitor.click("#send");
  await visitor.waitForSelector(".msg.out:has-text('Welcome! You write on web_chat')");
  await visitor.waitForSelector(".msg.out:has-text('Hello, how may we help?')");
  await visitor.close();
  // its interaction: the events, and the path it took drawn on the version it ran
  await page.getByRole("link", { name: "Interactions" }).click();
  await page.getByRole("row").filter({ hasText: "live" }).first().getByRole("link").click();
  await page.getByText("message_in").first().waitFor();
  await accessible(page, "interaction");
  await page.getByRole("link", { name: "Show its path on the tree" }).click();
  await page.locator(".node.on-path").nth(3).waitFor();
  check((await page.getByText("Read-only").count()) === 1, "the production version opens read-only");

  // business objects, one page per kind with a form made from its data schema
  await page.getByRole("link", { name: "Business objects" }).click();
  await page.getByRole("link", { name: "Values tables" }).click();
  await page.getByRole("button", { name: "New", exact: true }).click();
  const form = page.getByRole("group", { name: "New object" });
  await form.getByLabel("Reference").fill("CITIES");
  await form.getByLabel("Name", { exact: true }).fill("Cities");
  await form.getByRole("button", { name: "Add" }).first().click();
  await form.getByRole("textbox", { name: /^key/ }).fill("Paris");
  await form.getByRole("textbox", { name: /^value/ }).fill("75");
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "Cities", exact: true }).waitFor();
  await accessible(page, "values tables");
  // a second entry with the same key is refused with the server's reason, nothing saved
  await page.getByRole("row").filter({ hasText: "Cities" }).getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("group", { name: "Edit Cities" });
  await edit.getByRole("button", { name: "Add" }).first().click();
  await edit.getByRole("textbox", { name: /^key/ }).nth(1).fill("Paris");
  await edit.getByRole("button", { name: "Save" }).click();
  await edit.getByRole("alert").waitFor();
  await edit.getByRole("button", { name: "Cancel" }).click();
  // a web service with its write-only secret; tried, the outbound policy refuses its
  // internal address and the page says why
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Business objects" }).click();
  await page.getByRole("link", { name: "Web services" }).click();
  await page.getByRole("button", { name: "New", exact: true }).click();
  const ws = page.getByRole("group", { name: "New object" });
  await ws.getByLabel("Reference").fill("ORDERS");
  await ws.getByLabel("Name", { exact: true }).fill("Orders");
  await ws.getByRole("textbox", { name: /^url/ }).fill("http://10.0.0.7/orders");
  await ws.getByLabel(/^Secret/).fill("a-bearer-token");
  await ws.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "Orders", exact: true }).waitFor();
  await page.getByRole("row").filter({ hasText: "Orders" }).getByRole("button", { name: "Edit" }).click();
  const wsEdit = page.getByRole("group", { name: "Edit Orders" });
  await wsEdit.getByLabel(/^Secret/).and(page.getByLabel(/set — type a new one/)).waitFor();
  await wsEdit.getByText("No asynchronous call yet.").waitFor();
  await wsEdit.getByRole("button", { name: "Call it" }).click();
  await wsEdit.getByRole("status").filter({ hasText: "Not OK" }).filter({ hasText: "10.0.0.7 is an internal address" }).waitFor();
  check(!(await page.innerText("body")).includes("a-bearer-token"), "the secret is never shown");
  await accessible(page, "a web service tried");
  await wsEdit.getByRole("button", { name: "Cancel" }).click();
  // a custom database's rows (the database itself made by the test through the API): one
  // added, a CSV file imported with its refused line reported, filtered, one deleted
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Business objects" }).click();
  await page.getByRole("link", { name: "Databases" }).click();
  await page.getByRole("row").filter({ hasText: "Parcels" }).getByRole("button", { name: "Rows" }).click();
  const rowsPanel = page.getByRole("region", { name: "Rows of Parcels" });
  await rowsPanel.getByText("No row yet.").waitFor();
  const adding = rowsPanel.getByRole("form", { name: "Add a row" });
  await adding.getByLabel(/^number/).fill("41");
  await adding.getByLabel(/^status/).selectOption("Pending");
  await adding.getByRole("button", { name: "Add" }).click();
  await rowsPanel.getByRole("cell", { name: "41", exact: true }).waitFor();
  await rowsPanel.getByRole("form", { name: "Import rows" }).getByLabel("CSV file").setInputFiles({
    name: "parcels.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("number,status\n42,Shipped\n41,Pending\n43,shipped\n"),
  });
  await rowsPanel.getByRole("button", { name: "Import" }).click();
  await rowsPanel.getByRole("status").filter({ hasText: "2 added, 1 refused." }).waitFor();
  await rowsPanel.getByText(/Line 3: number: another row has the value 41/).waitFor();
  await rowsPanel.getByText("3 rows").waitFor();
  await rowsPanel.getByLabel("Column").selectOption("status");
  await rowsPanel.getByLabel("Equals").fill("SHIPPED");
  await rowsPanel.getByRole("button", { name: "Filter" }).click();
  await rowsPanel.getByRole("cell", { name: "41", exact: true }).waitFor({ state: "detached" });
  check((await rowsPanel.getByRole("row").count()) === 3, "two shipped parcels and the header");
  await accessible(page, "a database's rows");
  page.once("dialog", (d) => d.accept());
  await rowsPanel.getByRole("row").filter({ hasText: "43" }).getByRole("button", { name: "Delete" }).click();
  await rowsPanel.getByRole("cell", { name: "43", exact: true }).waitFor({ state: "detached" });
  await rowsPanel.getByText("2 rows").waitFor();
  // a group, and its live status
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Business objects" }).click();
  await page.getByRole("link", { name: "Groups (queues)" }).click();
  await page.getByRole("button", { name: "New", exact: true }).click();
  const group = page.getByRole("group", { name: "New object" });
  await group.getByLabel("Reference").fill("SUPPORT");
  await group.getByLabel("Name", { exact: true }).fill("Support team");
  await group.getByRole("button", { name: "Save" }).click();
  await page.getByRole("row").filter({ hasText: "Support team" }).getByRole("button", { name: "Live status" }).click();
  await page.getByRole("region", { name: "Live status of the group" }).getByText("0 waiting").waitFor();
  await accessible(page, "a group's live status");
  // customer routing options (seed 004) on a web chat instead of a routing: nobody is online,
  // so a new visitor goes to the all-offline group and gets its message at once
  await page.getByRole("link", { name: "Entry points" }).click();
  await page.getByRole("button", { name: "New entry point" }).click();
  const shop = page.getByRole("form", { name: "New entry point" });
  await shop.getByLabel("Reference").fill("shop");
  await shop.getByLabel("Name", { exact: true }).fill("Shop chat");
  await shop.getByLabel(/^Route by customer/).check();
  const offline = shop.getByRole("group", { name: "New customer, all users offline" });
  await offline.getByLabel("Select a group").selectOption({ label: "Support team" });
  await offline.getByLabel("Algorithm").selectOption({ label: "Least number of chats" });
  await offline.getByLabel(/^Send this message/).fill("Thank you for your message. We are out of office hours.");
  await shop.getByLabel(/^Send them to a group/).check();
  await shop.getByRole("group", { name: "The group for a customer whose owner is not online" }).getByLabel("Algorithm").selectOption({ label: "Most waiting" });
  await accessible(page, "customer routing options");
  await shop.getByRole("button", { name: "Save" }).click();
  await page.getByRole("link", { name: "/chat/shop" }).waitFor();
  await page.getByRole("row").filter({ hasText: "Shop chat" }).getByRole("button", { name: "Edit" }).click();
  const rulesForm = page.getByRole("form", { name: "Edit Shop chat" });
  check(await rulesForm.getByLabel(/^Route by customer/).isChecked(), "the rules were kept");
  check((await rulesForm.getByRole("group", { name: "New customer, all users offline" }).getByLabel("Algorithm").inputValue()) === "least_chats", "the offline rule's algorithm was kept");
  check(await rulesForm.getByLabel(/^Send them to a group/).isChecked(), "the owner-offline rule was kept");
  check((await rulesForm.getByRole("group", { name: "The group for a customer whose owner is not online" }).getByLabel("Algorithm").inputValue()) === "most_waiting", "its algorithm was kept");
  await rulesForm.getByRole("button", { name: "Cancel" }).click();
  const shopper = await context.newPage();
  await shopper.goto(`${base}/chat/shop`);
  await shopper.waitForSelector("#status:text('online')");
  await shopper.fill("#text", "hello?");
  await shopper.click("#send");
  await shopper.waitForSelector(".msg.out:has-text('We are out of office hours.')");
  await shopper.close();

  // the "I know" selector offers the objects of its kind: a values table looked up by the
  // development version, picked from the list
  await page.getByRole("link", { name: "Messaging smart routings" }).first().click();
  await page.getByRole("link", { name: "Support chat" }).click();
  await page.getByRole("region", { name: "In development" }).getByRole("link", { name: "Edit" }).click();
  await page.locator(".react-flow__node").filter({ hasText: "1 warning" }).click();
  const more = page.getByRole("region", { name: "Add an action after this one" });
  await more.getByLabel("Action type").selectOption("values_table");
  await more.getByLabel("How the values table is known").selectOption("entity");
  await more.getByLabel("The values table", { exact: true }).selectOption({ label: "Cities (CITIES)" });
  await more.getByRole("textbox", { name: /^lookup/ }).fill("Paris");
  await more.getByRole("combobox", { name: /^store_in/ }).fill("city");
  await more.getByRole("button", { name: "Add the action" }).click();
  await page.getByRole("heading", { name: "Values table" }).waitFor();
  const side = page.locator(".side");
  check((await side.getByLabel("How the values table is known").inputValue()) === "entity", "the selector kept how the table is known");
  check((await side.getByLabel("The values table", { exact: true }).locator("option:checked").innerText()) === "Cities (CITIES)", "the selector kept the table");
  check((await page.getByRole("button", { name: /Error:.*values table/ }).count()) === 0, "the table is found");
  await accessible(page, "the I know selector");
  // a database action offers the columns of the database its selector names, and beside a
  // LIST column the column's proposals (the action is not added)
  await more.getByLabel("Action type").selectOption("fill_variables_from_database");
  await more.getByLabel("How the database is known").selectOption("entity");
  await more.getByLabel("The database", { exact: true }).selectOption({ label: "Parcels (PARCELS)" });
  const column = more.locator("input[id$='assertions_0_field']");
  const offered = () => column.evaluate((el) => [...(el.list?.options ?? [])].map((o) => o.value).join(","));
  for (let i = 0; i < 50 && (await offered()) !== "number,status"; i++) await page.waitForTimeout(100);
  check((await offered()) === "number,status", `the database's columns are offered (${await offered()})`);
  await column.fill("status");
  await more.getByLabel("A proposal of status").selectOption("Shipped");
  const value = more.locator("textarea[id$='assertions_0_value']");
  for (let i = 0; i < 50 && (await value.inputValue()) !== "Shipped"; i++) await page.waitForTimeout(100);
  check((await value.inputValue()) === "Shipped", "the proposal is the assertion's value");
  await column.fill("number");
  await more.getByLabel("A proposal of status").waitFor({ state: "detached" });
  await accessible(page, "a database action's columns");
  // a distribution after it, to the group picked by the selector; the preview reaches no agent:
  // the person previewing picks what happened, and the path follows that branch
  await more.getByLabel("Action type").selectOption("distribute_to_queue");
  await more.getByLabel("How the queue is known").selectOption("entity");
  await more.getByLabel("The queue", { exact: true }).selectOption({ label: "Support team (SUPPORT)" });
  await more.getByRole("button", { name: "Add the action" }).click();
  await page.getByRole("heading", { name: "Distribution to queue" }).waitFor();
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByRole("button", { name: "Start a conversation" }).click();
  const outcome = page.getByRole("group", { name: "Outcome of the distribution" });
  await outcome.getByRole("button", { name: "Overflow – No user" }).click();
  await page.getByText("The conversation is over.").waitFor();
  check((await page.locator(".node.on-path").count()) === 6, `the path reaches the distribution (${await page.locator(".node.on-path").count()})`);
  await page.getByRole("button", { name: "Close the preview" }).click();

  // two quick undos undo two steps: the second waits for the first, then takes the step before
  const message = page.locator(".side").getByRole("textbox", { name: /^message/ });
  // picked from the keyboard (the node may sit under the toolbar after the preview)
  await page.locator(".react-flow__node").filter({ hasText: "Simple message" }).first().focus();
  await page.keyboard.press("Enter");
  const original = await message.inputValue();
  const actionId = await page.locator(".node.selected").getAttribute("data-action-id");
  const editedId = new URL(page.url()).pathname.split("/").at(-1);
  // waits until the server has the message `want` (10 s at most)
  const stored = async (want) => {
    let got;
    for (let i = 0; i < 50; i++) {
      got = await page.evaluate(async ([v, a]) => {
        const version = await (await fetch(`/api/v1/versions/${v}`)).json();
        return version.tree.actions.find((x) => x.id === a)?.params.message;
      }, [editedId, actionId]);
      if (got === want) return;
      await page.waitForTimeout(200);
    }
    check(false, `the stored message is ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  };
  for (const text of ["Step one", "Step two"]) {
    await message.fill(text);
    await page.getByRole("button", { name: "Save the parameters" }).click();
    await stored(text);
    await page.getByRole("button", { name: "Undo" }).and(page.locator(":enabled")).waitFor();
  }
  // both in one task, before any answer: the second must not take the first's step again
  await page.evaluate(() => {
    for (let i = 0; i < 2; i++) document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "z", ctrlKey: true, bubbles: true }));
  });
  await stored(original);
  await page.getByRole("button", { name: "Redo" }).click();
  await stored("Step one");
  await page.getByRole("button", { name: "Redo" }).click();
  await stored("Step two");
  check(await page.getByRole("button", { name: "Redo" }).isDisabled(), "nothing left to redo after two");

  // the development version in test on a WhatsApp number: picked on the entry point, then
  // listed on the version's card
  await page.getByRole("link", { name: "Back to the smart routing" }).click();
  await page.getByRole("region", { name: "In development" }).getByRole("button", { name: "Put in test" }).click();
  const inTest = page.getByRole("region", { name: "In test" });
  await inTest.getByText("None yet: select this version on an entry point.").waitFor();
  await page.getByRole("link", { name: "Entry points" }).click();
  await page.getByRole("button", { name: "New entry point" }).click();
  const wa = page.getByRole("form", { name: "New entry point" });
  await wa.getByLabel("Channel").selectOption("whatsapp");
  await wa.getByLabel("Reference").fill("wa");
  await wa.getByLabel("Name", { exact: true }).fill("WhatsApp line");
  await wa.getByLabel("Phone number id").fill("106540352242922");
  await wa.getByLabel("Start routing").selectOption({ label: "Support chat" });
  const testSelect = wa.getByLabel(/^Version in test/);
  await testSelect.locator("option").nth(1).waitFor({ state: "attached" });
  await testSelect.selectOption({ index: 1 });
  for (const [k, v] of [["access_token", "EAAG-test-token"], ["app_secret", "0123456789abcdef0123456789abcdef"], ["verify_token", "a-verify-token"]])
    await wa.getByLabel(new RegExp(`^${k}`)).fill(v);
  await wa.getByRole("button", { name: "Save" }).click();
  await page.getByRole("cell", { name: "106540352242922" }).waitFor();
  check((await page.getByRole("row").filter({ hasText: "WhatsApp line" }).innerText()).includes("access_token"), "the secrets are listed as set");
  await page.getByRole("link", { name: "Messaging smart routings" }).first().click();
  await page.getByRole("link", { name: "Support chat" }).click();
  await inTest.getByText("WhatsApp line").waitFor();

  // access: a token shown once, then listed; the audit log tells who did what
  await page.getByRole("link", { name: "Access" }).click();
  await page.getByRole("tab", { name: "API tokens" }).click();
  await page.getByRole("form", { name: "New API token" }).getByLabel("Name").fill("reporting");
  await page.getByRole("button", { name: "Create the token" }).click();
  await page.getByRole("status").filter({ hasText: "shown this once" }).waitFor();
  await page.getByRole("cell", { name: "reporting" }).waitFor();
  // a custom role started from a built-in one, narrowed, then deleted
  await page.getByRole("tab", { name: "Roles" }).click();
  await page.getByRole("button", { name: "New role" }).click();
  const roleForm = page.getByRole("form", { name: "New role" });
  await roleForm.getByLabel("Reference").fill("reviewer");
  await roleForm.getByLabel("Name", { exact: true }).fill("Reviewer");
  await roleForm.getByLabel("Start from the permissions of").selectOption({ label: "Designer" });
  check(await roleForm.getByLabel("routings.messaging:edit").isChecked(), "the designer's permissions were taken");
  await roleForm.getByLabel("routings.messaging:edit").uncheck();
  await accessible(page, "a role's form");
  await roleForm.getByRole("button", { name: "Save" }).click();
  const reviewer = page.getByRole("listitem").filter({ hasText: "Reviewer" });
  await reviewer.getByText("custom").waitFor();
  check(!(await reviewer.innerText()).includes("routings.messaging:edit"), "the role has no edit");
  check((await reviewer.innerText()).includes("routings.messaging:read"), "the role reads routings");
  await reviewer.getByRole("button", { name: "Edit" }).click();
  const roleEdit = page.getByRole("form", { name: "Edit the role Reviewer" });
  await roleEdit.getByLabel("audit:read").check();
  await roleEdit.getByRole("button", { name: "Save" }).click();
  await reviewer.getByText("audit:read").waitFor();
  page.once("dialog", (d) => d.accept());
  await reviewer.getByRole("button", { name: "Delete" }).click();
  await reviewer.waitFor({ state: "detached" });
  await page.getByRole("tab", { name: "Audit log" }).click();
  await page.getByRole("cell", { name: /POST \/api\/v1\/api-tokens/ }).first().waitFor();
  await accessible(page, "access");

  // a designer may build but not publish: no publish button, and the API refuses anyway
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to Switchyard" }).waitFor();
  await signIn(page, designerEmail, designerPassword);
  await page.getByRole("link", { name: "Support chat" }).click();
  await page.getByRole("article").first().waitFor();
  check((await page.getByRole("button", { name: "Put in production" }).count()) === 0, "a designer is offered no production");
  check((await page.getByRole("button", { name: "Schedule the production" }).count()) === 0, "a designer is offered no schedule");
  check((await page.getByRole("button", { name: "Create", exact: true }).count()) === 1, "a designer may create versions");
  const status = await page.evaluate(async () => {
    const csrf = sessionStorage.getItem("switchyard.csrf");
    const routings = await (await fetch("/api/v1/routings?channel_family=messaging")).json();
    const routing = await (await fetch(`/api/v1/routings/${routings.items[0].id}`)).json();
    const r = await fetch(`/api/v1/versions/${routing.versions[0].id}/put-in-test`, { method: "POST", headers: { "X-CSRF-Token": csrf } });
    return r.status;
  });
  check(status === 403, `the API refuses the designer's publish (got ${status})`);
  console.log("maker test passed");
} catch (e) {
  await page.screenshot({ path: `${shots}/maker-failed.png`, fullPage: true });
  console.error("page text at failure:\n" + (await page.innerText("body").catch(() => "")));
  throw e;
} finally {
  await browser.close();
}
