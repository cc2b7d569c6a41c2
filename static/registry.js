// Registry forms: fill latitude/longitude from the phone's location (progressive enhancement).
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("use-location");
    if (!button || !navigator.geolocation) return;
    var status = document.getElementById("location-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.querySelector("input[name=lat]").value = pos.coords.latitude.toFixed(6);
        document.querySelector("input[name=lon]").value = pos.coords.longitude.toFixed(6);
        status.textContent = "已填入当前位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）";
      }, function () {
        status.textContent = "无法获取位置，请手动填写";
      }, { enableHighAccuracy: true, timeout: 15000 });
    });
  });
})();
