import type { Request, RequestHandler, Router } from 'express';

/** The parts of `router`'s Layer and Route (router 2.x) that find the route a request asked for. */
interface RouteLayer {
  readonly route?: { _handlesMethod(method: string): boolean };
  match(path: string): boolean;
}

/**
 * Runs `authenticate` once for every request before the resource `routers` see it.
 * A refused request is labelled with the route it asked for (`req.route`, which metrics
 * read for their route template), not 'unmatched'; finding that route costs a walk over
 * every route, so it is done only for the refused, and an accepted request is matched
 * once, by the routers themselves (matching every request twice was a tenth of a get's
 * CPU, bench/profiles). A request no route takes is authenticated too: it is refused
 * without credentials, and reaches the 404 with them.
 */
export function authenticateRoutes(routers: readonly Router[], authenticate: RequestHandler): RequestHandler {
  return (req, res, next) =>
    authenticate(req, res, (error?: unknown) => {
      if (error !== undefined) labelWithRoute(req, routers);
      next(error);
    });
}

function labelWithRoute(req: Request, routers: readonly Router[]): void {
  for (const router of routers)
    for (const layer of router.stack as unknown as RouteLayer[]) {
      if (layer.route?._handlesMethod(req.method) === true && layer.match(req.path)) {
        req.route = layer.route;
        return;
      }
    }
}
