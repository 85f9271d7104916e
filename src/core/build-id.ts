declare const XCIMG_BUILD_ID: string;

/**
 * A digest of the sources this binary was compiled from (scripts/build.ts defines it); undefined
 * when xcimg runs from source (`bun src/main.ts`, in-process tests). What is cached across runs
 * on the strength of "the same code made it" (core/boot/node-record.ts) is only cached when this
 * is known: a source run, whose code may have changed since, renders everything again.
 */
export const buildId: string | undefined = typeof XCIMG_BUILD_ID === "string" ? XCIMG_BUILD_ID : undefined;
