/* WCS 2.0 XML POST bodies turned into KVP parameters; hostile bodies (DTDs, entities, depth, size) refused. */
#include "nadir/wcs.h"
#include "test.h"

static nd_req *post(const char *body) { return nd_req_new_test(NULL, "POST", "/wcs", body); }

ND_TEST(getcoverage_with_extensions) {
    nd_req *rq = post(
        "<?xml version=\"1.0\"?>"
        "<wcs:GetCoverage xmlns:wcs=\"http://www.opengis.net/wcs/2.0\" "
        "xmlns:scal=\"http://www.opengis.net/wcs/scaling/1.0\" "
        "xmlns:rsub=\"http://www.opengis.net/wcs/range-subsetting/1.0\" "
        "xmlns:crs=\"http://www.opengis.net/wcs/crs/1.0\" "
        "xmlns:int=\"http://www.opengis.net/wcs/interpolation/1.0\" service=\"WCS\" version=\"2.0.1\">"
        "<wcs:Extension>"
        "<scal:ScaleAxesByFactor><scal:ScaleAxis><scal:axis>i</scal:axis><scal:scaleFactor>2</scal:scaleFactor>"
        "</scal:ScaleAxis><scal:ScaleAxis><scal:axis>j</scal:axis><scal:scaleFactor>3</scal:scaleFactor>"
        "</scal:ScaleAxis></scal:ScaleAxesByFactor>"
        "<rsub:RangeSubset><rsub:RangeItem><rsub:RangeComponent>b4</rsub:RangeComponent></rsub:RangeItem>"
        "<rsub:RangeItem><rsub:RangeInterval><rsub:startComponent>b1</rsub:startComponent>"
        "<rsub:endComponent>b2</rsub:endComponent></rsub:RangeInterval></rsub:RangeItem></rsub:RangeSubset>"
        "<crs:subsettingCrs>http://www.opengis.net/def/crs/EPSG/0/4326</crs:subsettingCrs>"
        "<crs:outputCrs>http://www.opengis.net/def/crs/EPSG/0/3857</crs:outputCrs>"
        "<int:Interpolation><int:globalInterpolation>http://www.opengis.net/def/interpolation/OGC/1/cubic"
        "</int:globalInterpolation></int:Interpolation>"
        "</wcs:Extension>"
        "<wcs:CoverageId> dem </wcs:CoverageId>"
        "<wcs:DimensionTrim><wcs:Dimension>Lat</wcs:Dimension><wcs:TrimLow>46.2</wcs:TrimLow>"
        "<wcs:TrimHigh>46.4</wcs:TrimHigh></wcs:DimensionTrim>"
        "<wcs:DimensionTrim><wcs:Dimension>Long</wcs:Dimension><wcs:TrimHigh>10.3</wcs:TrimHigh></wcs:DimensionTrim>"
        "<wcs:DimensionSlice><wcs:Dimension>time</wcs:Dimension><wcs:SlicePoint>2025-01-05</wcs:SlicePoint>"
        "</wcs:DimensionSlice>"
        "<wcs:format>image/tiff</wcs:format></wcs:GetCoverage>");
    CHECK_INT(nd_wcs_xml_to_kvp(rq, &rq->err), 0);
    CHECK_STR(nd_req_query(rq, "REQUEST"), "GetCoverage");
    CHECK_STR(nd_req_query(rq, "SERVICE"), "WCS");
    CHECK_STR(nd_req_query(rq, "VERSION"), "2.0.1");
    CHECK_STR(nd_req_query(rq, "COVERAGEID"), "dem");
    CHECK_STR(nd_req_query(rq, "SUBSET0"), "Lat(46.2,46.4)");
    CHECK_STR(nd_req_query(rq, "SUBSET1"), "Long(*,10.3)");
    CHECK_STR(nd_req_query(rq, "SUBSET2"), "time(2025-01-05)");
    CHECK_STR(nd_req_query(rq, "SCALEAXES"), "i(2),j(3)");
    CHECK_STR(nd_req_query(rq, "RANGESUBSET"), "b4,b1:b2");
    CHECK_STR(nd_req_query(rq, "SUBSETTINGCRS"), "http://www.opengis.net/def/crs/EPSG/0/4326");
    CHECK_STR(nd_req_query(rq, "OUTPUTCRS"), "http://www.opengis.net/def/crs/EPSG/0/3857");
    CHECK_STR(nd_req_query(rq, "INTERPOLATION"), "http://www.opengis.net/def/interpolation/OGC/1/cubic");
    CHECK_STR(nd_req_query(rq, "FORMAT"), "image/tiff");
    nd_req_free_test(rq);
}

ND_TEST(capabilities_and_describe) {
    nd_req *rq = post("<GetCapabilities xmlns=\"http://www.opengis.net/wcs/2.0\" "
                      "xmlns:ows=\"http://www.opengis.net/ows/2.0\" service=\"WCS\"><ows:AcceptVersions>"
                      "<ows:Version>2.0.1</ows:Version><ows:Version>1.0.0</ows:Version></ows:AcceptVersions>"
                      "</GetCapabilities>");
    CHECK_INT(nd_wcs_xml_to_kvp(rq, &rq->err), 0);
    CHECK_STR(nd_req_query(rq, "AcceptVersions"), "2.0.1,1.0.0");
    nd_req_free_test(rq);
    rq = post("<wcs:DescribeCoverage xmlns:wcs=\"http://www.opengis.net/wcs/2.0\" service=\"WCS\" version=\"2.0.1\">"
              "<wcs:CoverageId>a</wcs:CoverageId><wcs:CoverageId>b</wcs:CoverageId></wcs:DescribeCoverage>");
    CHECK_INT(nd_wcs_xml_to_kvp(rq, &rq->err), 0);
    CHECK_STR(nd_req_query(rq, "COVERAGEID"), "a,b");
    nd_req_free_test(rq);
}

ND_TEST(hostile_bodies_refused) {
    const char *bad[] = {
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
        "<GetCapabilities service=\"WCS\">&lol2;</GetCapabilities>",
        "<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"http://127.0.0.1:1/x.dtd\"><GetCapabilities/>",
        "<GetCapabilities><unclosed></GetCapabilities>",
        "<Transaction service=\"WCS\"/>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nd_req *rq = post(bad[i]);
        CHECK(nd_wcs_xml_to_kvp(rq, &rq->err) < 0);
        CHECK(rq->err.code == ND_E_BAD_REQUEST || rq->err.code == ND_E_MISSING_PARAM ||
              rq->err.code == ND_E_NOT_IMPLEMENTED);
        CHECK(!nd_req_query(rq, "REQUEST") || i == 3);
        nd_req_free_test(rq);
    }
    /* nesting deeper than the limit */
    nd_buf b = {0};
    nd_buf_puts(&b, "<GetCoverage service=\"WCS\">");
    for (int i = 0; i < 40; i++) nd_buf_puts(&b, "<a>");
    for (int i = 0; i < 40; i++) nd_buf_puts(&b, "</a>");
    nd_buf_puts(&b, "</GetCoverage>");
    nd_req *rq = post(b.data);
    CHECK(nd_wcs_xml_to_kvp(rq, &rq->err) < 0);
    CHECK_INT(rq->err.code, ND_E_BAD_REQUEST);
    nd_req_free_test(rq);
    nd_buf_free(&b);
}
