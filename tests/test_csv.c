/*
 * test_csv.c - the CSV reader: headers detected or forced, target columns
 * anywhere, integer labels or float targets, blank lines, CRLF, quotes; and
 * every malformed file refused with its line and column.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/dataset.h"

static char dir[256], path[300];

static void setup(void)
{
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/data.csv", dir);
}

TestSuite(csv, .init = setup);

static ot_dataset *load_text(const char *text, const ot_csv_options *o)
{
    th_write(path, text, strlen(text), 0);
    ot_dataset *d = NULL;
    ot_status st = ot_dataset_load_csv(&d, path, o);
    cr_assert_eq(st, OT_OK, "%s", ot_last_error());
    return d;
}

static void expect_refused(const char *text, const ot_csv_options *o, const char *needle)
{
    th_write(path, text, strlen(text), 0);
    ot_dataset *d = (ot_dataset *)1;
    ot_status st = ot_dataset_load_csv(&d, path, o);
    cr_assert_neq(st, OT_OK, "accepted: %s", text);
    cr_assert_null(d);
    cr_assert(strstr(ot_last_error(), needle) != NULL, "'%s' lacks '%s'", ot_last_error(),
              needle);
}

Test(csv, header_detected_label_last)
{
    ot_dataset *d = load_text("a,b,label\n1.5,2,0\n-3,4e-1,2\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 2);
    cr_assert_eq(ot_dataset_dim(d), 2);
    cr_assert_eq(ot_dataset_classes(d), 3);
    cr_assert(d->x[0] == 1.5f && d->x[1] == 2.0f && d->x[2] == -3.0f && d->x[3] == 0.4f);
    cr_assert(d->y[0] == 0 && d->y[1] == 2);
    ot_dataset_destroy(d);
}

Test(csv, no_header_crlf_blank_lines_quotes_spaces)
{
    ot_dataset *d = load_text("\r\n1, 2 ,\"1\"\r\n\r\n3,4,0\r\n\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 2);
    cr_assert(d->x[0] == 1.0f && d->x[1] == 2.0f && d->y[0] == 1 && d->y[1] == 0);
    ot_dataset_destroy(d);
}

Test(csv, label_column_chosen_and_float_targets)
{
    ot_csv_options o = ot_csv_options_default();
    o.target_columns[0] = 0;
    ot_dataset *d = load_text("y,x1,x2\n2,10,20\n1,30,40\n", &o);
    cr_assert(d->y[0] == 2 && d->x[0] == 10.0f && d->x[3] == 40.0f);
    ot_dataset_destroy(d);
    o.integer_labels = 0;
    o.n_target_columns = 2;
    o.target_columns[0] = -2;
    o.target_columns[1] = -1;
    d = load_text("x,t1,t2\n1,0.5,-0.25\n2,1.5,3\n", &o);
    cr_assert_eq(ot_dataset_dim(d), 1);
    cr_assert_eq(ot_dataset_targets(d), 2);
    cr_assert(d->t[0] == 0.5f && d->t[1] == -0.25f && d->t[3] == 3.0f && d->x[1] == 2.0f);
    ot_dataset_destroy(d);
    o.n_target_columns = 0;
    d = load_text("1,2,3\n4,5,6\n", &o);
    cr_assert_eq(ot_dataset_dim(d), 3);
    cr_assert_null(d->y);
    cr_assert_null(d->t);
    ot_dataset_destroy(d);
}

Test(csv, forced_header_and_semicolons)
{
    ot_csv_options o = ot_csv_options_default();
    o.header = 1;
    o.delimiter = ';';
    ot_dataset *d = load_text("1;2;3\n4;5;1\n", &o);
    cr_assert_eq(ot_dataset_size(d), 1);
    cr_assert_eq(d->y[0], 1);
    ot_dataset_destroy(d);
}

Test(csv, malformed_files_name_line_and_column)
{
    expect_refused("a,b,c\n1,2,0\n3,4\n", NULL, "data.csv:3: 2 fields, expected 3");
    expect_refused("1,2,0\n3,x,1\n", NULL, "data.csv:2:2: 'x' is not a finite number");
    expect_refused("1,2,0\n3,nan,1\n", NULL, "data.csv:2:2: 'nan' is not a finite number");
    expect_refused("1,2,0\n3,4,\n", NULL, "data.csv:2:3: '' is not a finite number");
    expect_refused("1,2,0.5\n", NULL, "data.csv:1:3: label '0.5' is not a non-negative integer");
    expect_refused("1,2,-1\n", NULL, "label '-1'");
    expect_refused("a,b\n", NULL, "no data rows");
    expect_refused("", NULL, "no data rows");
    ot_csv_options o = ot_csv_options_default();
    o.target_columns[0] = 5;
    expect_refused("1,2,3\n", &o, "target column 5 does not exist (rows have 3 columns)");
    o.target_columns[0] = 0;
    expect_refused("1\n2\n", &o, "no feature columns");
    th_write(path, "\x01\x00\x02", 3, 0);
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_load_csv(&d, path, NULL), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "binary") != NULL);
    cr_assert_eq(ot_dataset_load_csv(&d, "/nonexistent.csv", NULL), OT_IO_ERROR);
    /* 64 GiB of NUL (a sparse file): told by its first block, never read
     * whole (that allocation would fail, or abort under the sanitizers) */
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL && ftruncate(fileno(f), (off_t)1 << 36) == 0);
    fclose(f);
    cr_assert_eq(ot_dataset_load_csv(&d, path, NULL), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "a binary file, not text (a NUL byte at offset 0)"),
              "%s", ot_last_error());
    truncate(path, 0);
}

/* A value finite as a double but infinite as the float kept (1e39, a
 * 3.5e38 that rounds up, 1e308) was stored as infinity and failed training
 * much later without a place: refused at load, where it is. */
Test(csv, values_beyond_a_float_are_refused_where_they_are)
{
    const char *values[] = {"1e39", "-1e39", "3.5e38", "1e308"};
    for (size_t i = 0; i < 4; i++) {
        char text[128], needle[64];
        snprintf(text, sizeof text, "1,2,0\n3,%s,1\n", values[i]);
        snprintf(needle, sizeof needle, "data.csv:2:2: '%s' is beyond a float's range",
                 values[i]);
        expect_refused(text, NULL, needle);
    }
    /* float targets too, and the largest float itself is kept */
    ot_csv_options o = ot_csv_options_default();
    o.integer_labels = 0;
    expect_refused("1,2,0.5\n3,4,-4e38\n", &o, "data.csv:2:3: '-4e38' is beyond a float's");
    ot_dataset *d = load_text("1,3.4028234e38,0\n", NULL);
    cr_assert_eq(d->x[1], 3.4028234e38f);
    ot_dataset_destroy(d);
}

/* A first line with numbers among its fields is data: a typo, a nan, an
 * empty field or an overlong number there gets the error it would get on
 * line 2, where it used to be taken for a header and the row dropped. */
Test(csv, a_first_line_with_numbers_is_data_not_a_header)
{
    expect_refused("1,2x,0\n3,4,1\n", NULL, "data.csv:1:2: '2x' is not a finite number");
    expect_refused("nan,2,0\n3,4,1\n", NULL, "data.csv:1:1: 'nan' is not a finite number");
    expect_refused(",2,0\n3,4,1\n", NULL, "data.csv:1:1: '' is not a finite number");
    expect_refused("1.00000000000000000000000000000000000000000000000000000000000000001,2,0\n"
                   "3,4,1\n", NULL, "data.csv:1:1:");
    /* a header is a line of which no field is a number, even an empty one */
    ot_dataset *d = load_text(",a,label\n1,2,0\n3,4,1\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 2);
    cr_assert_eq(ot_dataset_had_header(d), 1);
    ot_dataset_destroy(d);
    d = load_text("1,2,0\n3,4,1\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 2);
    cr_assert_eq(ot_dataset_had_header(d), 0);
    ot_dataset_destroy(d);
}

/* A spreadsheet's UTF-8 byte order mark before a first line of numbers made
 * its first field "not a number", and the row a header. */
Test(csv, a_byte_order_mark_is_not_part_of_the_first_field)
{
    ot_dataset *d = load_text("\xEF\xBB\xBF" "1,2,0\n3,4,1\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 2, "the first row was dropped");
    cr_assert_eq(d->x[0], 1.0f);
    ot_dataset_destroy(d);
    d = load_text("\xEF\xBB\xBF" "x,y,label\n1,2,0\n", NULL);
    cr_assert_eq(ot_dataset_size(d), 1);
    cr_assert_eq(ot_dataset_had_header(d), 1);
    ot_dataset_destroy(d);
}

/* The largest label an int32 holds: its class count is computed without
 * overflow (UBSan in CI), and the dataset says it has 2^31 classes. */
Test(csv, the_largest_label_counts_its_classes_without_overflow)
{
    ot_dataset *d = load_text("1,2,2147483647\n", NULL);
    cr_assert_eq(ot_dataset_classes(d), (size_t)2147483648u);
    ot_dataset_destroy(d);
}
