/** Entry of the release bundle / single executable. */
import { main } from "./cli";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
