// Opens the web chat page in Debian's Chromium, answers a question, presses a choice, answers
// the survey that follows once the conversation closes (a rating by its button, then free
// text), and checks the conversation survives a reload.
// Usage: node chat.mjs BASE_URL REFERENCE [SCREENSHOT]
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

  // the routing ended: the survey it attached asks its questions in the conversation
  await page.waitForSelector(".msg.out:has-text('One question about this chat')");
  await page.waitForSelector(".msg.out:has-text('How would you rate us?')");
  await page.click(".choices button:has-text('5')");
  await page.waitForSelector(".msg.out:has-text('Anything to add?')");
  await page.fill("#text", "Quick and clear");
  await page.click("#send");
  await page.waitForSelector(".msg.out:has-text('Thank you for your answers!')");

  // the conversation comes back after a reload
  await page.reload();
  await page.waitForSelector(".msg.out:has-text('Support will call you back. Age: 42')");
  await page.waitForSelector(".msg.out:has-text('Thank you for your answers!')");
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("chat page test passed");
} catch (e) {
  if (screenshot) await page.screenshot({ path: screenshot + ".failed.png", fullPage: true });
  console.error("page text at failure:\n" + (await page.innerText("main")));
  throw e;
} finally {
  await browser.close();
}
