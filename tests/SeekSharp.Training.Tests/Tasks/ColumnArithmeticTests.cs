using System.Text;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

public sealed class ColumnArithmeticTests
{
    [Fact]
    public void Addition_WritesEachColumnWithItsCarry()
    {
        var sb = new StringBuilder();
        ColumnArithmetic.Addition(sb, 347, 829);
        Assert.Equal(
            "7 + 9 + 0 = 16, write 6 carry 1\n" +
            "4 + 2 + 1 = 7, write 7 carry 0\n" +
            "3 + 8 + 0 = 11, write 1 carry 1\n" +
            "final carry 1 is the leading digit\n" +
            "347 + 829 = 1176", sb.ToString());
    }

    [Fact]
    public void Subtraction_BorrowsWhenAColumnIsNegative()
    {
        var sb = new StringBuilder();
        ColumnArithmetic.Subtraction(sb, 829, 347);
        Assert.Equal(
            "9 - 0 - 7 = 2, write 2 borrow 0\n" +
            "2 - 0 - 4 is negative, 12 - 0 - 4 = 8, write 8 borrow 1\n" +
            "8 - 1 - 3 = 4, write 4 borrow 0\n" +
            "829 - 347 = 482", sb.ToString());
    }

    [Fact]
    public void Multiplication_AddsShiftedPartialProducts()
    {
        var sb = new StringBuilder();
        ColumnArithmetic.Multiplication(sb, 47, 23);
        Assert.Equal(
            "digit 3 of 23:\n" +
            "7 × 3 + 0 = 21, write 1 carry 2\n" +
            "4 × 3 + 2 = 14, write 4 carry 1\n" +
            "final carry 1 is the leading digit\n" +
            "47 × 3 = 141\n" +
            "digit 2 of 23:\n" +
            "7 × 2 + 0 = 14, write 4 carry 1\n" +
            "4 × 2 + 1 = 9, write 9 carry 0\n" +
            "47 × 2 = 94, shifted 1 place: 940\n" +
            "add 141 and 940:\n" +
            "1 + 0 + 0 = 1, write 1 carry 0\n" +
            "4 + 4 + 0 = 8, write 8 carry 0\n" +
            "1 + 9 + 0 = 10, write 0 carry 1\n" +
            "final carry 1 is the leading digit\n" +
            "141 + 940 = 1081\n" +
            "47 × 23 = 1081", sb.ToString());
    }
}
