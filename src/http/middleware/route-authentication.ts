import { Router, type Request, type RequestHandler } from 'express';

// The methods the resource routers declare; a route with any other runs the fallback.
const methods = ['get', 'post', 'put', 'delete', 'patch'] as const;

/**
 * Runs `authenticate` once for every request before the resource `routers` see it. For
 * a request one of their routes will take, it runs as the first handler of a route
 * with the same path and method, so that a refused request has matched its route and
 * metrics label it with the route template, not 'unmatched'. Any other request (no
 * route, or a method no route takes) is authenticated by the fallback, as before: it
 * is refused without credentials, and reaches the 404 with them.
 */
export function authenticateRoutes(
  routers: readonly Router[],
  authenticate: RequestHandler,
): RequestHandler[] {
  const authenticated = new WeakSet<Request>();
  const once: RequestHandler = (req, res, next) => {
    if (authenticated.has(req)) return next();
    authenticated.add(req);
    return authenticate(req, res, next);
  };
  const matched = Router();
  for (const router of routers) {
    for (const layer of router.stack) {
      if (layer.route === undefined) continue;
      const declared = new Set(layer.route.stack.map((handler) => handler.method));
      const route = matched.route(layer.route.path);
      for (const method of methods) if (declared.has(method)) route[method](once);
    }
  }
  return [matched, once];
}
