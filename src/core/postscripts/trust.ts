/** Nodes are trusted only with the key xcimg gave them: without one there is nothing to check the node against. */
export const NO_KEY = "xcimg has no host key for this node: it was not booted or cloned by xcimg (run 'xcimg boot' for it first)";
