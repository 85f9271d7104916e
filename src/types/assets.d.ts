/** Shell scripts shipped inside the binary, imported as text (Bun's `with { type: "text" }`). */
declare module "*.sh" {
  const text: string;
  export default text;
}
