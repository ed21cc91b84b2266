/**
 * The page-image pixel bound, in a module of its own so that code which only needs the number
 * (the GPU container's entrypoint, which starts vLLM with it) does not load the rasterizer and its
 * native packages. rasterize.ts re-exports it.
 */

/** Most pixels of one rasterized page image; vLLM's image processor is capped at the same bound. */
export const DEFAULT_MAX_PAGE_PIXELS = 2_500_000;
