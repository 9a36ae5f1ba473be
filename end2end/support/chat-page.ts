// What a person does on the chat page, by its data-testids: join a room, send a message to
// everyone, the room or everyone but the room (and wait for its acknowledgement), find a message.
import { Page } from "@playwright/test";
import { expect } from "./fixtures";

/** Joins `room` and waits until the chat shows it. */
export async function join(page: Page, room: string): Promise<void> {
  await page.getByTestId("room-input").fill(room);
  await page.getByTestId("room-join").click();
  await expect(page.getByTestId("chat-title")).toHaveText(`# ${room}`);
}

/** Sends `text` to `target` and waits for its acknowledgement to say "ok". */
export async function send(page: Page, text: string, target: "all" | "room" | "except"): Promise<void> {
  await page.getByTestId("send-target").selectOption(target);
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send-button").click();
  await expect(page.getByTestId("ack-entry").filter({ hasText: text }).first()).toHaveAttribute("data-status", "ok");
}

/** The messages on the page that contain `text`. */
export const message = (page: Page, text: string) => page.getByTestId("message").filter({ hasText: text });
