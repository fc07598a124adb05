package promtext

import "testing"

func TestLayoutMatchesPromClient(t *testing.T) {
	var w Writer
	w.Family("a_total", "counter", "A thing.")
	w.Sample("a_total", 3)
	w.Family("b_total", "counter", "Labelled, none yet.")
	w.Family("c", "gauge", "Per id.")
	w.Sample("c", 1, "id", `x"y\z`)
	h := NewHistogram(0, 1, 5)
	h.Observe(0)
	h.Observe(3)
	h.Observe(7)
	h.Write(&w, "h", "Sizes.")
	want := "# HELP a_total A thing.\n# TYPE a_total counter\na_total 3\n\n" +
		"# HELP b_total Labelled, none yet.\n# TYPE b_total counter\n\n" +
		"# HELP c Per id.\n# TYPE c gauge\nc{id=\"x\\\"y\\\\z\"} 1\n\n" +
		"# HELP h Sizes.\n# TYPE h histogram\n" +
		"h_bucket{le=\"0\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"5\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 10\nh_count 3\n"
	if got := w.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1234567: "1234567", 0.25: "0.25", -1: "-1", 1e22: "1e+22"} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}
