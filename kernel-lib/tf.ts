/** The one tfjs instance the whole library (and notebooks, via the facade) uses. */
import * as tf from "@tensorflow/tfjs";
export { tf };
