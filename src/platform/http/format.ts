/**
 * Numbers as pages show them, grouped (10,000). The one place that knows the format: when the UI gets a
 * locale, this takes it (10.000 in Indonesian).
 */
const grouped = new Intl.NumberFormat('en-US');

export const formatCount = (value: number): string => grouped.format(value);
