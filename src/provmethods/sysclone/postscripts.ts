/**
 * clone's postscripts: the shared resolution in core/postscripts/order.ts (xcatdefaults, then
 * the osimage's, then the node's), with clone's built-ins (bootloader, network, remote shell).
 */
export {
  describePostscript,
  type NodePostscripts,
  nodePostscripts,
  type Postscript,
  parsePostscripts,
  postscriptLines,
} from "../../core/postscripts/order";
