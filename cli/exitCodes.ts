export const EXIT_OK = 0;
export const EXIT_INVALID_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 3;
/** `verify`: some line is missing or doubled, or the copy has not finished. */
export const EXIT_NOT_EXACTLY_ONCE = 4;
