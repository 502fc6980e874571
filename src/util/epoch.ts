/**
 * The time xenbuild writes wherever a tool would write "now" into an
 * artifact (file-system and file times, uImage headers): 1980-01-01 00:00 UTC,
 * the earliest a FAT directory entry can hold. The same sources then give the
 * same bytes, on any machine, on any day.
 */
export const BUILD_EPOCH = 315532800;
