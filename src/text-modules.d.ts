/** Files bundled as text (Bun's `with { type: "text" }` imports), e.g. the netboot /init. */
declare module "*.sh" {
  const text: string;
  export default text;
}
