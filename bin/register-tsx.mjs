// Registers tsx (TypeScript for Node) resolved from this repository, wherever the command runs from:
// `node --import <this file>` is what bin/highlander uses instead of `--import tsx`, which would be
// resolved from the working directory.
import 'tsx';
