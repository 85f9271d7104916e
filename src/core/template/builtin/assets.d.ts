// Built-in templates and package lists are imported as text (Bun embeds them in the binary).
declare module "*.tmpl" {
  const text: string;
  export default text;
}
declare module "*.pkglist" {
  const text: string;
  export default text;
}
