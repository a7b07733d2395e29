// The network edge: node:http servers for the Binance API and the admin API. They read requests, apply the
// injected latency, hand everything to the simulator, and write (or withhold) the answer.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { handleAdminRequest } from "./admin.ts";
import type { ExchangeSimulator } from "./simulator.ts";

const MAX_BODY_BYTES = 1024 * 1024;

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function writeJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

async function listen(server: Server, host: string, port: number): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${urlHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging requests and keep-alive connections would otherwise hold the server open.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Binance-compatible API. */
export function listenApi(sim: ExchangeSimulator, host: string, port: number): Promise<RunningServer> {
  const server = createServer(async (request, response) => {
    const target = request.url ?? "/";
    const questionMark = target.indexOf("?");
    const path = questionMark === -1 ? target : target.slice(0, questionMark);
    const rawQuery = questionMark === -1 ? "" : target.slice(questionMark + 1);
    try {
      const rawBody = await readBody(request);
      if (rawBody === undefined) return;
      const latency = sim.latencyFor(path);
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      const apiKeyHeader = request.headers["x-mbx-apikey"];
      const outcome = sim.handleApiRequest({
        method: request.method ?? "GET",
        path,
        rawQuery,
        rawBody,
        apiKey: Array.isArray(apiKeyHeader) ? apiKeyHeader[0] : apiKeyHeader,
        ip: request.socket.remoteAddress ?? "unknown",
      });
      if (outcome.kind === "hang") return;
      if (outcome.kind === "drop") {
        request.socket.destroy();
        return;
      }
      writeJson(response, outcome.status, outcome.body, outcome.headers);
    } catch (error) {
      // A defect in the simulator, not a simulated failure: say so plainly.
      writeJson(response, 500, { code: -1000, msg: `exchange simulator error: ${(error as Error).message}` });
    }
  });
  return listen(server, host, port);
}

/** The admin API; always loopback. */
export function listenAdmin(sim: ExchangeSimulator, port: number): Promise<RunningServer> {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://admin");
    try {
      const rawBody = await readBody(request);
      if (rawBody === undefined) return writeJson(response, 413, { error: "body larger than 1 MiB" });
      let body: unknown;
      if (rawBody.trim() !== "") {
        try {
          body = JSON.parse(rawBody);
        } catch (error) {
          return writeJson(response, 400, { error: `body is not valid JSON: ${(error as Error).message}` });
        }
      }
      const answer = handleAdminRequest(sim, request.method ?? "GET", url.pathname, url.searchParams, body);
      writeJson(response, answer.status, answer.body);
    } catch (error) {
      writeJson(response, 500, { error: `exchange simulator error: ${(error as Error).message}` });
    }
  });
  return listen(server, "127.0.0.1", port);
}
