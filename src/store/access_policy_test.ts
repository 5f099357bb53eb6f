import assert from "node:assert/strict";
import { AccessPolicy } from "./access_policy.ts";

Deno.test("with no allowed ids every peer may connect", () => {
  assert.ok(new AccessPolicy(undefined, 0).allows({ uid: 1234, gid: 1234 }));
  assert.ok(new AccessPolicy({ allowUids: [], allowGids: [] }, 0).allows({ uid: 9, gid: 9 }));
});

Deno.test("allowed uids or primary gids connect, the store's own user always, others never", () => {
  const policy = new AccessPolicy({ allowUids: [1000], allowGids: [50] }, 7);
  assert.ok(policy.allows({ uid: 1000, gid: 1 }));
  assert.ok(policy.allows({ uid: 2000, gid: 50 }));
  assert.ok(policy.allows({ uid: 7, gid: 7 }));
  assert.ok(!policy.allows({ uid: 2000, gid: 51 }));
});
