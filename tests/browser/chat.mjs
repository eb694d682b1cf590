// Opens the web chat page in Debian's Chromium, answers a question, presses a choice, and
// checks the conversation survives a reload. Usage: node chat.mjs BASE_URL REFERENCE [SCREENSHOT]
import { launch } from "./common.mjs";

const [base, reference, screenshot] = process.argv.slice(2);
const browser = await launch();
const page = await browser.newPage();
try {
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/chat/${reference}`);
  await page.waitForSelector("#status:text('online')");

  await page.fill("#text", "hello");
  await page.click("#send");
  await page.waitForSelector(".msg.out:has-text('How old are you?')");

  // an invalid answer gets the error message and the question again
  await page.fill("#text", "old enough");
  await page.click("#send");
  await page.waitForSelector(".msg.out:has-text('A number, please.')");

  await page.fill("#text", "42");
  await page.click("#send");
  await page.click(".choices button:has-text('Support')");
  await page.waitForSelector(".msg.out:has-text('Support will call you back. Age: 42')");

  // the conversation comes back after a reload
  await page.reload();
  await page.waitForSelector(".msg.out:has-text('Support will call you back. Age: 42')");
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("chat page test passed");
} catch (e) {
  if (screenshot) await page.screenshot({ path: screenshot + ".failed.png", fullPage: true });
  console.error("page text at failure:\n" + (await page.innerText("main")));
  throw e;
} finally {
  await browser.close();
}
