import { createHmac } from "node:crypto";
import MNSClient from "@alicloud/mns";
import type { ServiceRequest } from "../../emulator/core/types";
import { mnsStringToSign } from "../../emulator/mns/auth";
import { defaultQueueAttributes, MnsBackend } from "../../emulator/mns/backend";
import { parseMnsHost } from "../../emulator/mns/routing";
import { parseXml, xmlDocument } from "../../emulator/mns/xml";
import { ManualClock } from "./serviceHarness";

describe("MNS XML", () => {
  it("parses elements, entities, CDATA and namespaces, and round-trips escaped text", () => {
    const root = parseXml(
      '<?xml version="1.0"?><mns:Message xmlns:mns="x"><MessageBody>a &amp; &lt;b&gt; &#65;</MessageBody>' +
        "<Other><![CDATA[<raw>]]></Other><Empty/></mns:Message>",
    );
    expect(root.name).toBe("Message");
    expect(root.children.map((element) => [element.name, element.text])).toEqual([
      ["MessageBody", "a & <b> A"],
      ["Other", "<raw>"],
      ["Empty", ""],
    ]);
    const rendered = xmlDocument("Message", [{ name: "MessageBody", value: "a & <b>" }]);
    expect(parseXml(rendered).children[0]?.text).toBe("a & <b>");
  });

  it("refuses malformed documents with MalformedXML", () => {
    for (const text of ["<A><B></A>", "<A>", "text only", "<A/><B/>"]) {
      expect(() => parseXml(text)).toThrow(expect.objectContaining({ code: "MalformedXML" }));
    }
  });
});

describe("MNS signature", () => {
  it("builds the same string to sign as the official SDK", () => {
    const headers = {
      date: "Tue, 24 Nov 2026 16:00:00 GMT",
      "content-type": "text/xml",
      "content-md5": "ZmFrZQ==",
      "x-mns-version": "2015-06-06",
      "x-mns-date": "Tue, 24 Nov 2026 16:00:00 GMT",
    };
    const resource = "/queues/q/messages?ReceiptHandle=1-2-3";
    const sdk = new MNSClient("123", {
      accessKeyId: "id",
      accessKeySecret: "secret",
      endpoint: "http://127.0.0.1",
    });
    const req: ServiceRequest = {
      method: "DELETE",
      rawPath: "/queues/q/messages",
      path: "/queues/q/messages",
      rawQuery: "ReceiptHandle=1-2-3",
      query: { ReceiptHandle: "1-2-3" },
      headers,
      host: "123.mns.cn-hangzhou.localhost",
      body: Buffer.alloc(0),
    };
    const ours = createHmac("sha1", "secret").update(mnsStringToSign(req)).digest("base64");
    expect(ours).toBe(sdk.sign("DELETE", headers, resource));
  });

  it("reads account and region from the host", () => {
    expect(parseMnsHost("123.mns.cn-hangzhou.localhost")).toEqual({
      accountId: "123",
      region: "cn-hangzhou",
    });
    expect(parseMnsHost("123.mns.cn-hangzhou-internal-vpc.localhost")).toEqual({
      accountId: "123",
      region: "cn-hangzhou",
    });
  });
});

describe("MNS backend", () => {
  it("drops messages past the retention period", async () => {
    const clock = new ManualClock();
    const backend = new MnsBackend(clock);
    backend.createQueue("1", "r", "q", { ...defaultQueueAttributes, messageRetentionPeriod: 60 });
    backend.send("1", "r", "q", [{ body: "old", delaySeconds: undefined, priority: undefined }]);
    clock.advance(60_000);
    await expect(backend.receive("1", "r", "q", 1, 0)).rejects.toMatchObject({ code: "MessageNotExist" });
  });

  it("receives higher priority (lower number) first", async () => {
    const backend = new MnsBackend(new ManualClock());
    backend.createQueue("1", "r", "q", defaultQueueAttributes);
    backend.send("1", "r", "q", [
      { body: "normal", delaySeconds: undefined, priority: undefined },
      { body: "urgent", delaySeconds: undefined, priority: 1 },
    ]);
    const received = await backend.receive("1", "r", "q", 2, 0);
    expect(received.map((message) => message.body)).toEqual(["urgent", "normal"]);
  });

  it("ends pending long polls with QueueNotExist on reset", async () => {
    const backend = new MnsBackend(new ManualClock());
    backend.createQueue("1", "r", "q", defaultQueueAttributes);
    const waiting = backend.receive("1", "r", "q", 1, 30);
    backend.reset();
    await expect(waiting).rejects.toMatchObject({ code: "QueueNotExist" });
  });
});
