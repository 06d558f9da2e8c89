/*  tests/unit/test_data_label.c: placeholder until data.label lands. */
int
main (void)
{
    return 0;
}
